package bridge

import (
	"context"
	"fmt"
	"sort"
	"strings"

	"github.com/hashicorp/go-cty/cty"
	"github.com/hashicorp/terraform-plugin-sdk/v2/helper/schema"
	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
	"github.com/pulumi/pulumi/sdk/v3/go/common/resource/plugin"
	pulumirpc "github.com/pulumi/pulumi/sdk/v3/proto/go"
	"google.golang.org/protobuf/types/known/structpb"
)

// change is a planned change of an existing resource: its Pulumi inputs, its prior Terraform state and the
// Terraform provider's plan for the new inputs. Diff describes it; Update applies it.
type change struct {
	e          *resourceEntry
	olds, news resource.PropertyMap
	prior      cty.Value
	private    []byte
	config     cty.Value
	pl         *planResult
}

func (p *Provider) planChange(ctx context.Context, urn, id string, oldsIn, newsIn *structpb.Struct, timeouts map[string]float64) (*change, error) {
	e, err := p.entry(urn)
	if err != nil {
		return nil, err
	}
	olds, err := plugin.UnmarshalProperties(oldsIn, unmarshalOpts)
	if err != nil {
		return nil, err
	}
	news, err := plugin.UnmarshalProperties(newsIn, unmarshalOpts)
	if err != nil {
		return nil, err
	}
	prior, private, err := p.priorState(ctx, e, id, olds)
	if err != nil {
		return nil, err
	}
	config, err := e.configFor(stripSecretsMap(news), timeouts)
	if err != nil {
		return nil, err
	}
	pl, err := p.plan(ctx, e, prior, private, config)
	if err != nil {
		return nil, fmt.Errorf("planning %s: %w", e.info.Token, err)
	}
	return &change{e: e, olds: olds, news: news, prior: prior, private: private, config: config, pl: pl}, nil
}

// Diff plans the change with the Terraform provider (PlanResourceChange, as Terraform core would) and
// describes it in Pulumi terms: a detailed diff of prior vs planned state with Pulumi property paths,
// replacements where Terraform requires a new resource (ForceNew attributes), and delete-before-replace
// where the upstream bridge sets it.
func (p *Provider) Diff(ctx context.Context, req *pulumirpc.DiffRequest) (*pulumirpc.DiffResponse, error) {
	c, err := p.planChange(ctx, req.GetUrn(), req.GetId(), req.GetOlds(), req.GetNews(), nil)
	if err != nil {
		return nil, err
	}
	e, news, prior, pl := c.e, c.news, c.prior, c.pl
	if eq := prior.Equals(pl.planned); eq.IsKnown() && eq.True() {
		return &pulumirpc.DiffResponse{Changes: pulumirpc.DiffResponse_DIFF_NONE, HasDetailedDiff: true,
			DetailedDiff: map[string]*pulumirpc.PropertyDiff{}, Stables: stables(e, nil)}, nil
	}

	oldProps := stripSecretsMap(e.outputs(prior, nil))
	newProps := stripSecretsMap(e.outputs(pl.planned, nil))
	delete(oldProps, "id")
	delete(newProps, "id")
	detailed := map[string]*pulumirpc.PropertyDiff{}
	diffObject("", oldProps, newProps, e.obj, nil, detailed)

	// Terraform decides whether the resource is replaced; the per-path kinds above follow ForceNew.
	requires := replacePaths(pl.requiresReplace)
	if len(requires) == 0 {
		for k, d := range detailed {
			detailed[k] = &pulumirpc.PropertyDiff{Kind: demote(d.Kind)}
		}
	} else if !hasReplace(detailed) {
		for _, tf := range requires {
			name := tf
			if f := e.obj.Fields[tf]; f != nil {
				name = f.PulumiName
			}
			detailed[name] = &pulumirpc.PropertyDiff{Kind: pulumirpc.PropertyDiff_UPDATE_REPLACE}
		}
	}

	topLevel := map[string]bool{}
	replaced := map[string]bool{}
	for path, d := range detailed {
		top := path
		if i := strings.IndexAny(path, ".["); i > 0 {
			top = path[:i]
		}
		topLevel[top] = true
		if isReplace(d.Kind) {
			replaced[top] = true
		}
	}
	diffs, replaces := sortedSet(topLevel), sortedSet(replaced)
	dbr := len(replaces) > 0 && (e.info.DeleteBeforeReplace || (e.autonamed && nameSetExplicitly(news)))
	return &pulumirpc.DiffResponse{
		Changes:             pulumirpc.DiffResponse_DIFF_SOME,
		Replaces:            replaces,
		Stables:             stables(e, replaced),
		DeleteBeforeReplace: dbr,
		Diffs:               diffs,
		DetailedDiff:        detailed,
		HasDetailedDiff:     true,
	}, nil
}

// nameSetExplicitly: the program set the auto-nameable "name" itself (it is not listed in __defaults).
// A replacement then has to delete the old resource first, since both would need the same name. States
// without a __defaults list count as auto-named, like the bridge.
func nameSetExplicitly(news resource.PropertyMap) bool {
	d, ok := news[defaultsKey]
	if !ok || !d.IsArray() {
		return false
	}
	if _, has := news["name"]; !has {
		return false
	}
	for _, k := range d.ArrayValue() {
		if k.IsString() && k.StringValue() == "name" {
			return false
		}
	}
	return true
}

// stables lists the ForceNew top-level properties that are not being replaced.
func stables(e *resourceEntry, replaced map[string]bool) []string {
	var out []string
	for _, f := range e.obj.Fields {
		if f.Schema.ForceNew && !replaced[f.PulumiName] {
			out = append(out, f.PulumiName)
		}
	}
	sort.Strings(out)
	return out
}

func sortedSet(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

func isReplace(k pulumirpc.PropertyDiff_Kind) bool {
	switch k {
	case pulumirpc.PropertyDiff_ADD_REPLACE, pulumirpc.PropertyDiff_UPDATE_REPLACE, pulumirpc.PropertyDiff_DELETE_REPLACE:
		return true
	}
	return false
}

func hasReplace(m map[string]*pulumirpc.PropertyDiff) bool {
	for _, d := range m {
		if isReplace(d.Kind) {
			return true
		}
	}
	return false
}

// replacing pairs each plain diff kind with its replacing twin; promote and demote move between them.
var replacing = map[pulumirpc.PropertyDiff_Kind]pulumirpc.PropertyDiff_Kind{
	pulumirpc.PropertyDiff_ADD:    pulumirpc.PropertyDiff_ADD_REPLACE,
	pulumirpc.PropertyDiff_DELETE: pulumirpc.PropertyDiff_DELETE_REPLACE,
	pulumirpc.PropertyDiff_UPDATE: pulumirpc.PropertyDiff_UPDATE_REPLACE,
}

func promote(k pulumirpc.PropertyDiff_Kind) pulumirpc.PropertyDiff_Kind {
	if r, ok := replacing[k]; ok {
		return r
	}
	return k
}

func demote(k pulumirpc.PropertyDiff_Kind) pulumirpc.PropertyDiff_Kind {
	for plain, r := range replacing {
		if r == k {
			return plain
		}
	}
	return k
}

// present: null and empty collections are the same thing to the SDK.
func present(v resource.PropertyValue) bool {
	switch {
	case v.IsNull():
		return false
	case v.IsArray():
		return len(v.ArrayValue()) > 0
	}
	return true
}

// diffObject compares two objects described by obj. parent is the field whose value the object is (nil at
// the top level).
func diffObject(path string, olds, news resource.PropertyMap, obj *Object, parent *Field, out map[string]*pulumirpc.PropertyDiff) {
	for _, k := range sortedKeys(mergeKeys(olds, news)) {
		if isInternalKey(k) {
			continue
		}
		f := obj.ByPulumi[string(k)]
		kp := propPath(path, string(k))
		diffValue(kp, olds[k], news[k], f, parent, out)
	}
}

func propPath(base, key string) string {
	if base == "" {
		return resource.PropertyPath{key}.String()
	}
	return base + resource.PropertyPath{"x", key}.String()[1:]
}

// triggersReplace: a change at a path replaces the resource if its attribute is ForceNew, or if the value is
// an element of a ForceNew list/set/map (as Terraform decides).
func triggersReplace(f *Field, parent *Field) bool {
	if f != nil && f.Schema != nil && f.Schema.ForceNew {
		return true
	}
	if parent != nil && parent.Schema != nil && parent.Schema.ForceNew {
		switch parent.Schema.Type {
		case schema.TypeList, schema.TypeSet, schema.TypeMap:
			return true
		}
	}
	return false
}

// diffValue records the difference at path between old and new. f describes the value (nil for elements
// of primitive collections), parent the field that contains it.
func diffValue(path string, old, new resource.PropertyValue, f *Field, parent *Field, out map[string]*pulumirpc.PropertyDiff) {
	record := func(kind pulumirpc.PropertyDiff_Kind) {
		if triggersReplace(f, parent) {
			kind = promote(kind)
		}
		out[path] = &pulumirpc.PropertyDiff{Kind: kind}
	}
	oldP, newP := present(old), present(new) || new.IsComputed()
	switch {
	case !oldP && !newP:
		return
	case !oldP:
		record(pulumirpc.PropertyDiff_ADD)
		return
	case !newP:
		record(pulumirpc.PropertyDiff_DELETE)
		return
	case new.IsComputed():
		record(pulumirpc.PropertyDiff_UPDATE)
		return
	}
	if f == nil {
		if !sdkEqual(old, new) {
			record(pulumirpc.PropertyDiff_UPDATE)
		}
		return
	}
	switch {
	case f.Block != nil && f.MaxItemsOne && old.IsObject() && new.IsObject():
		diffObject(path, old.ObjectValue(), new.ObjectValue(), f.Block, f, out)
	case f.Schema.Type == schema.TypeList && old.IsArray() && new.IsArray():
		oa, na := old.ArrayValue(), new.ArrayValue()
		n := len(oa)
		if len(na) > n {
			n = len(na)
		}
		for i := 0; i < n; i++ {
			ep := fmt.Sprintf("%s[%d]", path, i)
			var o, nv resource.PropertyValue
			if i < len(oa) {
				o = oa[i]
			}
			if i < len(na) {
				nv = na[i]
			}
			if f.Block != nil {
				elemDiff(ep, o, nv, f, out)
			} else {
				diffValue(ep, o, nv, nil, f, out)
			}
		}
	case f.Schema.Type == schema.TypeMap && old.IsObject() && new.IsObject():
		om, nm := old.ObjectValue(), new.ObjectValue()
		for _, k := range sortedKeys(mergeKeys(om, nm)) {
			diffValue(fmt.Sprintf("%s[%q]", path, string(k)), om[k], nm[k], nil, f, out)
		}
	default:
		// Scalars, and sets (whose element order is not meaningful) as a whole.
		if !sdkEqual(old, new) {
			record(pulumirpc.PropertyDiff_UPDATE)
		}
	}
}

// elemDiff compares two elements of a list of blocks.
func elemDiff(path string, old, new resource.PropertyValue, f *Field, out map[string]*pulumirpc.PropertyDiff) {
	kind := pulumirpc.PropertyDiff_Kind(-1)
	switch {
	case !old.IsObject() && !new.IsObject() && !new.IsComputed():
		return
	case !old.IsObject():
		kind = pulumirpc.PropertyDiff_ADD
	case new.IsComputed():
		kind = pulumirpc.PropertyDiff_UPDATE
	case !new.IsObject():
		kind = pulumirpc.PropertyDiff_DELETE
	}
	if kind >= 0 {
		if triggersReplace(nil, f) {
			kind = promote(kind)
		}
		out[path] = &pulumirpc.PropertyDiff{Kind: kind}
		return
	}
	diffObject(path, old.ObjectValue(), new.ObjectValue(), f.Block, nil, out)
}

// isZero: null and zero values are the same to the Terraform SDK (its flatmap state cannot tell them apart).
func isZero(v resource.PropertyValue) bool {
	switch {
	case v.IsNull():
		return true
	case v.IsString():
		return v.StringValue() == ""
	case v.IsNumber():
		return v.NumberValue() == 0
	case v.IsBool():
		return !v.BoolValue()
	case v.IsArray():
		return len(v.ArrayValue()) == 0
	case v.IsObject():
		return len(v.ObjectValue()) == 0
	}
	return false
}

// sdkEqual compares values the way the SDK considers them equivalent: zero values equal null, and arrays
// are compared as multisets (set element order is not meaningful). Used for display only; whether there is
// a change at all is Terraform's plan's decision.
func sdkEqual(a, b resource.PropertyValue) bool {
	if a.IsComputed() || b.IsComputed() {
		return false
	}
	if isZero(a) && isZero(b) {
		return true
	}
	switch {
	case a.IsArray() && b.IsArray():
		aa, ba := a.ArrayValue(), b.ArrayValue()
		if len(aa) != len(ba) {
			return false
		}
		used := make([]bool, len(ba))
	outer:
		for _, x := range aa {
			for j, y := range ba {
				if !used[j] && sdkEqual(x, y) {
					used[j] = true
					continue outer
				}
			}
			return false
		}
		return true
	case a.IsObject() && b.IsObject():
		ao, bo := a.ObjectValue(), b.ObjectValue()
		for k := range mergeKeys(ao, bo) {
			if !sdkEqual(ao[k], bo[k]) {
				return false
			}
		}
		return true
	}
	return a.DeepEquals(b)
}
