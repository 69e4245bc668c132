#!/usr/bin/env bash
# The kind path, for machines with Docker (not ours: there is no Docker engine where kubeloop is
# developed, so this script is run by .github/workflows/kind.yaml on a provider that has one):
#   1. a kind cluster from kind-config.yaml (two workers labelled as GPU nodes);
#   2. the image built and loaded into kind;
#   3. fake GPUs: each worker with an `nvidia.com/gpu.product` label advertises 8 (A100) or
#      4 (others) `nvidia.com/gpu` through a status patch of its capacity, as the Kubernetes
#      docs' "Advertise Extended Resources for a Node" does (kind has no device plugin);
#   4. helm install of charts/kubeloop with that image, waiting for the rollout;
#   5. the samples: two ReplicaSets and the train-binpack GPUPlacementPolicy, then waits until
#      both ReplicaSets report their replicas ready.
# Needs docker, kind, kubectl and helm on PATH. KIND_CLUSTER (default kubeloop) names the cluster;
# KEEP=1 keeps it afterwards (default: kept; `kind delete cluster --name kubeloop` removes it).
set -euo pipefail
cd "$(dirname "$0")/.."
cluster="${KIND_CLUSTER:-kubeloop}"
image="kubeloop:dev"

kind create cluster --name "$cluster" --config kind-config.yaml --wait 120s
docker build -t "$image" .
kind load docker-image "$image" --name "$cluster"

for node in $(kubectl get nodes -l nvidia.com/gpu.product -o jsonpath='{.items[*].metadata.name}'); do
  product="$(kubectl get node "$node" -o jsonpath='{.metadata.labels.nvidia\.com/gpu\.product}')"
  gpus=4
  [[ "$product" == *A100* || "$product" == *H100* ]] && gpus=8
  kubectl patch node "$node" --subresource=status --type=json \
    -p "[{\"op\":\"add\",\"path\":\"/status/capacity/nvidia.com~1gpu\",\"value\":\"$gpus\"}]"
  echo "node $node: $gpus fake nvidia.com/gpu ($product)"
done

helm upgrade --install kubeloop charts/kubeloop --namespace kubeloop-system --create-namespace \
  --set image.repository=kubeloop --set image.tag=dev --set image.pullPolicy=Never --wait --timeout 5m

kubectl create namespace kubeloop-samples --dry-run=client -o yaml | kubectl apply -f -
kubectl apply -n kubeloop-samples -f operators/replicaset/samples/web.yaml -f operators/replicaset/samples/api.yaml
kubectl apply -f operators/gpu-placement/samples/train-binpack.yaml
for rs in web api; do
  want="$(kubectl get -n kubeloop-samples replicasets.apps.kubeloop.dev "$rs" -o jsonpath='{.spec.replicas}')"
  for _ in $(seq 1 120); do
    ready="$(kubectl get -n kubeloop-samples replicasets.apps.kubeloop.dev "$rs" -o jsonpath='{.status.readyReplicas}')"
    [[ "${ready:-0}" == "$want" ]] && break
    sleep 2
  done
  [[ "${ready:-0}" == "$want" ]] || { echo "ReplicaSet $rs: ${ready:-0}/$want ready" >&2; exit 1; }
  echo "ReplicaSet $rs: $ready/$want ready"
done
kubectl get gpuplacementpolicies train-binpack -o jsonpath='{.status}' && echo
