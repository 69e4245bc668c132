// Oracle: runs kube-scheduler v1.36.3's plugins on JSON cases (stdin) and prints results (stdout).
package main

import (
	"context"
	"encoding/json"
	"os"

	v1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/apimachinery/pkg/util/sets"
	"k8s.io/klog/v2"
	fwk "k8s.io/kube-scheduler/framework"
	"k8s.io/kubernetes/pkg/scheduler/apis/config"
	"k8s.io/kubernetes/pkg/scheduler/framework"
	"k8s.io/kubernetes/pkg/scheduler/framework/plugins/feature"
	"k8s.io/kubernetes/pkg/scheduler/framework/plugins/nodeaffinity"
	"k8s.io/kubernetes/pkg/scheduler/framework/plugins/nodename"
	"k8s.io/kubernetes/pkg/scheduler/framework/plugins/nodeports"
	"k8s.io/kubernetes/pkg/scheduler/framework/plugins/noderesources"
	"k8s.io/kubernetes/pkg/scheduler/framework/plugins/nodeunschedulable"
	"k8s.io/kubernetes/pkg/scheduler/framework/plugins/tainttoleration"
)

type NodeCase struct {
	Node v1.Node  `json:"node"`
	Pods []v1.Pod `json:"pods"`
}

type Case struct {
	Pod      v1.Pod                  `json:"pod"`
	Nodes    []NodeCase              `json:"nodes"`
	Strategy *config.ScoringStrategy `json:"strategy"`
}

type StatusOut struct {
	Code    string   `json:"code"`
	Reasons []string `json:"reasons"`
}

type NodeOut struct {
	Name             string           `json:"name"`
	Filters          []StatusOut      `json:"filters"` // per filter plugin in order
	Requested        map[string]int64 `json:"requested"`
	NonZeroRequested map[string]int64 `json:"nonZeroRequested"`
	Allocatable      map[string]int64 `json:"allocatable"`
}

type Out struct {
	Requests    map[string]int64            `json:"requests"`
	Non0CPU     int64                       `json:"non0CPU"`
	Non0Mem     int64                       `json:"non0Mem"`
	PreFilter   map[string]StatusOut        `json:"preFilter"`
	NodeNames   []string                    `json:"nodeNames,omitempty"` // NodeAffinity's PreFilterResult
	Nodes       []NodeOut                   `json:"nodes"`
	Scores      map[string]map[string]int64 `json:"scores"` // plugin -> node -> normalized score
	Error       string                      `json:"error,omitempty"`
}

func st(s *fwk.Status) StatusOut {
	if s == nil {
		return StatusOut{Code: "Success", Reasons: []string{}}
	}
	r := s.Reasons()
	if r == nil {
		r = []string{}
	}
	return StatusOut{Code: s.Code().String(), Reasons: r}
}

func res(r fwk.Resource) map[string]int64 {
	m := map[string]int64{"cpu": r.GetMilliCPU(), "memory": r.GetMemory(), "ephemeral-storage": r.GetEphemeralStorage(), "pods": int64(r.GetAllowedPodNumber())}
	for k, v := range r.GetScalarResources() {
		m[string(k)] = v
	}
	return m
}

type QuantityOut struct {
	OK    bool  `json:"ok"`
	Milli int64 `json:"milli"`
	Value int64 `json:"value"`
}

// quantities: `oracle quantities` reads a JSON array of strings and prints ParseQuantity's
// verdict with MilliValue() and Value() for each.
func quantities() {
	var in []string
	if err := json.NewDecoder(os.Stdin).Decode(&in); err != nil {
		panic(err)
	}
	out := make([]QuantityOut, 0, len(in))
	for _, s := range in {
		q, err := resource.ParseQuantity(s)
		if err != nil {
			out = append(out, QuantityOut{})
			continue
		}
		out = append(out, QuantityOut{OK: true, Milli: q.MilliValue(), Value: q.Value()})
	}
	json.NewEncoder(os.Stdout).Encode(out)
}

type NodeHintCase struct {
	Pod v1.Pod   `json:"pod"`
	Old *v1.Node `json:"old"`
	New v1.Node  `json:"new"`
}

// nodeHints: `oracle nodehints` reads [{pod, old?, new}] and prints, per filter plugin, whether a
// pod that plugin rejected would be requeued by the node event (registered event matching the
// change kube-scheduler derives, and its queueing hint saying Queue).
func nodeHints() {
	var in []NodeHintCase
	if err := json.NewDecoder(os.Stdin).Decode(&in); err != nil {
		panic(err)
	}
	ctx := context.Background()
	logger := klog.Background()
	fts := feature.Features{EnableSidecarContainers: true, EnableSchedulingQueueHint: true, EnablePodLevelResources: true, EnableInPlacePodVerticalScaling: true, EnableInPlacePodLevelResourcesVerticalScaling: true}
	fitP, _ := noderesources.NewFit(ctx, &config.NodeResourcesFitArgs{ScoringStrategy: &config.ScoringStrategy{Type: config.LeastAllocated, Resources: []config.ResourceSpec{{Name: "cpu", Weight: 1}, {Name: "memory", Weight: 1}}}}, nil, fts)
	nu, _ := nodeunschedulable.New(ctx, nil, nil, fts)
	nn, _ := nodename.New(ctx, nil, nil, fts)
	tt, _ := tainttoleration.New(ctx, nil, nil, fts)
	na, _ := nodeaffinity.New(ctx, &config.NodeAffinityArgs{}, nil, fts)
	np, _ := nodeports.New(ctx, nil, nil, fts)
	plugins := []fwk.Plugin{nu, nn, tt, na, np, fitP}
	out := make([]map[string]bool, 0, len(in))
	for _, c := range in {
		var events []fwk.ClusterEvent
		var oldObj interface{}
		if c.Old == nil {
			events = []fwk.ClusterEvent{{Resource: fwk.Node, ActionType: fwk.Add}}
		} else {
			events = framework.NodeSchedulingPropertiesChange(&c.New, c.Old)
			oldObj = c.Old
		}
		res := map[string]bool{}
		for _, p := range plugins {
			regs, _ := p.(fwk.EnqueueExtensions).EventsToRegister(ctx)
			queue := false
			for _, r := range regs {
				matched := false
				for _, ev := range events {
					if framework.MatchClusterEvents(r.Event, ev) {
						matched = true
					}
				}
				if !matched {
					continue
				}
				if r.QueueingHintFn == nil {
					queue = true
					break
				}
				h, err := r.QueueingHintFn(logger, &c.Pod, oldObj, &c.New)
				if err != nil || h == fwk.Queue {
					queue = true
					break
				}
			}
			res[p.Name()] = queue
		}
		out = append(out, res)
	}
	json.NewEncoder(os.Stdout).Encode(out)
}

type PodHintCase struct {
	Pod  v1.Pod  `json:"pod"`
	Kind string  `json:"kind"` // "update" (another pod or the pod itself) or "delete"
	Old  v1.Pod  `json:"old"`
	New  *v1.Pod `json:"new"`
}

// podHints: `oracle podhints` reads [{pod, kind, old, new?}] and prints, per filter plugin,
// whether a pod that plugin rejected would be requeued by the pod event.
func podHints() {
	var in []PodHintCase
	if err := json.NewDecoder(os.Stdin).Decode(&in); err != nil {
		panic(err)
	}
	ctx := context.Background()
	logger := klog.Background()
	fts := feature.Features{EnableSidecarContainers: true, EnableSchedulingQueueHint: true, EnablePodLevelResources: true, EnableInPlacePodVerticalScaling: true, EnableInPlacePodLevelResourcesVerticalScaling: true}
	fitP, _ := noderesources.NewFit(ctx, &config.NodeResourcesFitArgs{ScoringStrategy: &config.ScoringStrategy{Type: config.LeastAllocated, Resources: []config.ResourceSpec{{Name: "cpu", Weight: 1}, {Name: "memory", Weight: 1}}}}, nil, fts)
	nu, _ := nodeunschedulable.New(ctx, nil, nil, fts)
	nn, _ := nodename.New(ctx, nil, nil, fts)
	tt, _ := tainttoleration.New(ctx, nil, nil, fts)
	na, _ := nodeaffinity.New(ctx, &config.NodeAffinityArgs{}, nil, fts)
	np, _ := nodeports.New(ctx, nil, nil, fts)
	plugins := []fwk.Plugin{nu, nn, tt, na, np, fitP}
	out := make([]map[string]bool, 0, len(in))
	for _, c := range in {
		var events []fwk.ClusterEvent
		var oldObj, newObj interface{}
		oldObj = &c.Old
		if c.Kind == "delete" {
			if c.Old.Spec.NodeName != "" {
				events = []fwk.ClusterEvent{framework.EventAssignedPodDelete}
			} else {
				events = []fwk.ClusterEvent{framework.EventUnscheduledPodDelete}
			}
		} else {
			events = framework.PodSchedulingPropertiesChange(c.New, &c.Old)
			newObj = c.New
		}
		res := map[string]bool{}
		for _, p := range plugins {
			regs, _ := p.(fwk.EnqueueExtensions).EventsToRegister(ctx)
			queue := false
			for _, r := range regs {
				matched := false
				for _, ev := range events {
					if framework.MatchClusterEvents(r.Event, ev) {
						matched = true
					}
				}
				if !matched {
					continue
				}
				if r.QueueingHintFn == nil {
					queue = true
					break
				}
				h, err := r.QueueingHintFn(logger, &c.Pod, oldObj, newObj)
				if err != nil || h == fwk.Queue {
					queue = true
					break
				}
			}
			res[p.Name()] = queue
		}
		out = append(out, res)
	}
	json.NewEncoder(os.Stdout).Encode(out)
}

func main() {
	if len(os.Args) > 1 && os.Args[1] == "podhints" {
		podHints()
		return
	}
	if len(os.Args) > 1 && os.Args[1] == "quantities" {
		quantities()
		return
	}
	if len(os.Args) > 1 && os.Args[1] == "nodehints" {
		nodeHints()
		return
	}
	var cases []Case
	if err := json.NewDecoder(os.Stdin).Decode(&cases); err != nil {
		panic(err)
	}
	ctx := context.Background()
	fts := feature.Features{EnableSidecarContainers: true, EnableSchedulingQueueHint: true, EnablePodLevelResources: true, EnableInPlacePodVerticalScaling: true, EnableInPlacePodLevelResourcesVerticalScaling: true}
	outs := make([]Out, 0, len(cases))
	for _, c := range cases {
		out := Out{PreFilter: map[string]StatusOut{}, Scores: map[string]map[string]int64{}}
		pod := c.Pod.DeepCopy()
		pi, _ := framework.NewPodInfo(pod)
		pr := pi.CalculateResource()
		out.Requests = res(pr.Resource)
		out.Non0CPU = pr.Non0CPU
		out.Non0Mem = pr.Non0Mem

		strategy := c.Strategy
		if strategy == nil {
			strategy = &config.ScoringStrategy{Type: config.LeastAllocated, Resources: []config.ResourceSpec{{Name: "cpu", Weight: 1}, {Name: "memory", Weight: 1}}}
		}
		fitP, err := noderesources.NewFit(ctx, &config.NodeResourcesFitArgs{ScoringStrategy: strategy}, nil, fts)
		if err != nil {
			out.Error = err.Error()
			outs = append(outs, out)
			continue
		}
		nu, _ := nodeunschedulable.New(ctx, nil, nil, fts)
		nn, _ := nodename.New(ctx, nil, nil, fts)
		tt, _ := tainttoleration.New(ctx, nil, nil, fts)
		na, _ := nodeaffinity.New(ctx, &config.NodeAffinityArgs{}, nil, fts)
		np, _ := nodeports.New(ctx, nil, nil, fts)
		filters := []fwk.Plugin{nu, nn, tt, na, np, fitP}

		var infos []fwk.NodeInfo
		for _, n := range c.Nodes {
			var pods []*v1.Pod
			for i := range n.Pods {
				pods = append(pods, n.Pods[i].DeepCopy())
			}
			ni := framework.NewNodeInfo(pods...)
			ni.SetNode(n.Node.DeepCopy())
			infos = append(infos, ni)
		}
		state := framework.NewCycleState()
		for _, p := range filters {
			if pf, ok := p.(fwk.PreFilterPlugin); ok {
				r, s := pf.PreFilter(ctx, state, pod, infos)
				out.PreFilter[p.Name()] = st(s)
				if r != nil && r.NodeNames != nil {
					out.NodeNames = sets.List(r.NodeNames)
				}
			}
		}
		for _, ni := range infos {
			no := NodeOut{Name: ni.Node().Name, Requested: res(ni.GetRequested()), NonZeroRequested: res(ni.GetNonZeroRequested()), Allocatable: res(ni.GetAllocatable())}
			for _, p := range filters {
				if ps, ok := out.PreFilter[p.Name()]; ok && (ps.Code == "Skip" || ps.Code != "Success") {
					no.Filters = append(no.Filters, StatusOut{Code: "Skipped", Reasons: []string{}})
					continue
				}
				no.Filters = append(no.Filters, st(p.(fwk.FilterPlugin).Filter(ctx, state, pod, ni)))
			}
			out.Nodes = append(out.Nodes, no)
		}
		for _, p := range []fwk.Plugin{tt, na, fitP} {
			sp := p.(fwk.ScorePlugin)
			s := p.(fwk.PreScorePlugin).PreScore(ctx, state, pod, infos)
			scores := map[string]int64{}
			if s != nil && s.Code() == fwk.Skip {
				out.Scores[p.Name()] = scores
				continue
			}
			var list fwk.NodeScoreList
			for _, ni := range infos {
				v, _ := sp.Score(ctx, state, pod, ni)
				list = append(list, fwk.NodeScore{Name: ni.Node().Name, Score: v})
			}
			if ext := sp.ScoreExtensions(); ext != nil {
				ext.NormalizeScore(ctx, state, pod, list)
			}
			for _, ns := range list {
				scores[ns.Name] = ns.Score
			}
			out.Scores[p.Name()] = scores
		}
		outs = append(outs, out)
	}
	json.NewEncoder(os.Stdout).Encode(outs)
}
