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
#      both ReplicaSets report their replicas ready;
#   6. a 1-GPU pod of app=train that names no scheduler: the chart's scheduler-name webhook (the
#      operator pods behind the webhook Service) sends it to kubeloop-scheduler, which binds it.
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

# The webhook answers once the operator pods have injected their CA (they are not ready before),
# and the API server reloads the caBundle within seconds: dry-run until the answer comes.
gpu_pod='{"apiVersion":"v1","kind":"Pod","metadata":{"name":"train-1gpu","labels":{"app":"train"}},
  "spec":{"containers":[{"name":"train","image":"registry.k8s.io/pause:3.10","resources":{"limits":{"nvidia.com/gpu":"1"}}}]}}'
for _ in $(seq 1 30); do
  scheduler="$(echo "$gpu_pod" | kubectl create -n kubeloop-samples --dry-run=server -o jsonpath='{.spec.schedulerName}' -f -)"
  [[ "$scheduler" == kubeloop-scheduler ]] && break
  sleep 2
done
[[ "$scheduler" == kubeloop-scheduler ]] || { echo "the scheduler-name webhook did not answer: schedulerName $scheduler" >&2; exit 1; }
echo "$gpu_pod" | kubectl apply -n kubeloop-samples -f -
kubectl wait -n kubeloop-samples pod/train-1gpu --for=condition=PodScheduled --timeout=120s
kubectl get -n kubeloop-samples pod train-1gpu -o jsonpath='{.spec.schedulerName} {.spec.nodeName} {.metadata.annotations}' && echo
