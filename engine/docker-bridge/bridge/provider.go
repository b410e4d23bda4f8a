package bridge

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"runtime"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/hashicorp/go-cty/cty"
	ctyjson "github.com/hashicorp/go-cty/cty/json"
	"github.com/hashicorp/go-cty/cty/msgpack"
	"github.com/hashicorp/terraform-plugin-go/tfprotov5"
	"github.com/hashicorp/terraform-plugin-go/tftypes"
	"github.com/hashicorp/terraform-plugin-sdk/v2/helper/schema"
	"github.com/pulumi/pulumi/sdk/v3/go/common/diag"
	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
	"github.com/pulumi/pulumi/sdk/v3/go/common/resource/plugin"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi/provider"
	pulumirpc "github.com/pulumi/pulumi/sdk/v3/proto/go"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/emptypb"
	"google.golang.org/protobuf/types/known/structpb"
)

// resourceEntry is one Pulumi resource backed by a Terraform resource.
type resourceEntry struct {
	tfName    string
	info      *ResourceInfo
	res       *schema.Resource
	obj       *Object
	block     *tfprotov5.SchemaBlock
	ty        cty.Type
	autonamed bool
}

// Provider implements the Pulumi ResourceProvider gRPC service on top of a Terraform SDKv2 provider, driven
// in-process through the SDK's own gRPC server (the same protocol Terraform core speaks).
type Provider struct {
	pulumirpc.UnimplementedResourceProviderServer

	host      *provider.HostClient
	tf        *schema.Provider
	server    *schema.GRPCProviderServer
	resources map[string]*resourceEntry // by Pulumi token
	config    *Object
	configTy  cty.Type

	mu         sync.Mutex
	configured bool
}

// NewProvider wraps a Terraform SDKv2 provider.
func NewProvider(host *provider.HostClient, tf *schema.Provider) (*Provider, error) {
	for tfName, info := range Resources {
		if res := tf.ResourcesMap[tfName]; res != nil {
			removeDefaults(res.SchemaMap(), info.Fields)
		}
	}
	p := &Provider{
		host:      host,
		tf:        tf,
		server:    schema.NewGRPCProviderServer(tf),
		resources: map[string]*resourceEntry{},
		config:    NewObject(tf.Schema, ProviderConfig),
		configTy:  schema.InternalMap(tf.Schema).CoreConfigSchema().ImpliedType(),
	}
	sresp, err := p.server.GetProviderSchema(context.Background(), &tfprotov5.GetProviderSchemaRequest{})
	if err != nil {
		return nil, err
	}
	for tfName, info := range Resources {
		res := tf.ResourcesMap[tfName]
		if res == nil {
			return nil, fmt.Errorf("mapping table names Terraform resource %s, which the provider lacks", tfName)
		}
		sch := sresp.ResourceSchemas[tfName]
		if sch == nil {
			return nil, fmt.Errorf("no schema for %s", tfName)
		}
		e := &resourceEntry{
			tfName: tfName,
			info:   info,
			res:    res,
			obj:    NewObject(res.SchemaMap(), info.Fields),
			block:  sch.Block,
			ty:     res.CoreConfigSchema().ImpliedType(),
		}
		// Auto-name a string input called "name" unless the table overrides that field.
		if s := res.SchemaMap()["name"]; s != nil && (s.Optional || s.Required) && s.Type == schema.TypeString {
			if _, overridden := info.Fields["name"]; !overridden {
				e.autonamed = true
			}
		}
		p.resources[info.Token] = e
	}
	return p, nil
}

// removeDefaults applies the table's RemoveDefault entries to the Terraform schema.
func removeDefaults(sch map[string]*schema.Schema, fields map[string]*FieldInfo) {
	for name, fi := range fields {
		s := sch[name]
		if s == nil || fi == nil {
			continue
		}
		if fi.RemoveDefault {
			s.Default = nil
		}
		if r, ok := s.Elem.(*schema.Resource); ok && len(fi.Fields) > 0 {
			removeDefaults(r.SchemaMap(), fi.Fields)
		}
	}
}

func defaultDockerHost() interface{} {
	if runtime.GOOS == "windows" {
		return "npipe:////./pipe/docker_engine"
	}
	return "unix:///var/run/docker.sock"
}

func (p *Provider) entry(urn string) (*resourceEntry, error) {
	t := string(resource.URN(urn).Type())
	e := p.resources[t]
	if e == nil {
		return nil, fmt.Errorf("unknown resource type %q: this docker provider supports %s", t, strings.Join(p.tokens(), ", "))
	}
	return e, nil
}

func (p *Provider) tokens() []string {
	var out []string
	for t := range p.resources {
		out = append(out, t)
	}
	sort.Strings(out)
	return out
}

func (p *Provider) warn(ctx context.Context, urn string, msg string) {
	if p.host != nil {
		_ = p.host.Log(ctx, diag.Warning, resource.URN(urn), msg)
	}
}

// ---------------------------------------------------------------------------------------------------------
// Plugin info, schema

func (p *Provider) GetPluginInfo(context.Context, *emptypb.Empty) (*pulumirpc.PluginInfo, error) {
	return &pulumirpc.PluginInfo{Version: PackageVersion}, nil
}

func (p *Provider) GetSchema(_ context.Context, req *pulumirpc.GetSchemaRequest) (*pulumirpc.GetSchemaResponse, error) {
	s, err := p.schemaJSON()
	if err != nil {
		return nil, err
	}
	return &pulumirpc.GetSchemaResponse{Schema: s}, nil
}

func (p *Provider) Attach(_ context.Context, req *pulumirpc.PluginAttach) (*emptypb.Empty, error) {
	host, err := provider.NewHostClient(req.GetAddress())
	if err != nil {
		return nil, err
	}
	p.host = host
	return &emptypb.Empty{}, nil
}

// Cancel asks the Terraform provider to stop its operations (the engine is shutting down).
func (p *Provider) Cancel(ctx context.Context, _ *emptypb.Empty) (*emptypb.Empty, error) {
	_, _ = p.server.StopProvider(ctx, &tfprotov5.StopProviderRequest{})
	return &emptypb.Empty{}, nil
}

func (p *Provider) GetMapping(context.Context, *pulumirpc.GetMappingRequest) (*pulumirpc.GetMappingResponse, error) {
	return &pulumirpc.GetMappingResponse{}, nil
}

// ---------------------------------------------------------------------------------------------------------
// Provider configuration

var unmarshalOpts = plugin.MarshalOptions{KeepUnknowns: true, KeepSecrets: true, SkipNulls: true}

// configProperties decodes provider configuration: the engine sends non-string values JSON-encoded.
func (p *Provider) configProperties(s *structpb.Struct) (resource.PropertyMap, []*pulumirpc.CheckFailure, error) {
	pm, err := plugin.UnmarshalProperties(s, unmarshalOpts)
	if err != nil {
		return nil, nil, err
	}
	var failures []*pulumirpc.CheckFailure
	out := resource.PropertyMap{}
	for k, v := range pm {
		if isInternalKey(k) || contains(IgnoredConfigKeys, string(k)) {
			continue
		}
		f := p.config.ByPulumi[string(k)]
		if f == nil {
			failures = append(failures, &pulumirpc.CheckFailure{Property: string(k),
				Reason: fmt.Sprintf("unknown provider configuration key %q (known: %s)", k, strings.Join(pulumiNames(p.config, false), ", "))})
			continue
		}
		raw, unknown := unwrap(v)
		if !unknown && raw.IsString() && f.Schema.Type != schema.TypeString {
			var decoded interface{}
			if err := json.Unmarshal([]byte(raw.StringValue()), &decoded); err == nil {
				nv := goToProperty(decoded)
				if v.ContainsSecrets() {
					nv = resource.MakeSecret(nv)
				}
				v = nv
			}
		}
		out[k] = v
	}
	return out, failures, nil
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func pulumiNames(o *Object, inputsOnly bool) []string {
	var out []string
	for _, f := range o.SortedTF() {
		if !inputsOnly || f.IsInput() {
			out = append(out, f.PulumiName)
		}
	}
	sort.Strings(out)
	return out
}

func (p *Provider) configValue(pm resource.PropertyMap) (cty.Value, error) {
	pm = pm.Copy()
	for tfName, info := range ProviderConfig {
		f := p.config.Fields[tfName]
		if f == nil {
			continue
		}
		k := resource.PropertyKey(f.PulumiName)
		if v, ok := pm[k]; ok && !v.IsNull() {
			continue
		}
		for _, env := range info.DefaultEnvVars {
			if s := os.Getenv(env); s != "" {
				pm[k] = resource.NewStringProperty(s)
				break
			}
		}
		if _, ok := pm[k]; !ok && info.DefaultFunc != nil {
			pm[k] = goToProperty(info.DefaultFunc())
		}
	}
	return toCtyObject("", pm, p.config, p.configTy, nil)
}

func (p *Provider) CheckConfig(ctx context.Context, req *pulumirpc.CheckRequest) (*pulumirpc.CheckResponse, error) {
	_, failures, err := p.configProperties(req.GetNews())
	if err != nil {
		return nil, err
	}
	return &pulumirpc.CheckResponse{Inputs: req.GetNews(), Failures: failures}, nil
}

func (p *Provider) DiffConfig(ctx context.Context, req *pulumirpc.DiffRequest) (*pulumirpc.DiffResponse, error) {
	olds, err := plugin.UnmarshalProperties(req.GetOldInputs(), unmarshalOpts)
	if err != nil {
		return nil, err
	}
	if len(olds) == 0 {
		if olds, err = plugin.UnmarshalProperties(req.GetOlds(), unmarshalOpts); err != nil {
			return nil, err
		}
	}
	news, err := plugin.UnmarshalProperties(req.GetNews(), unmarshalOpts)
	if err != nil {
		return nil, err
	}
	detailed := map[string]*pulumirpc.PropertyDiff{}
	var diffs []string
	for _, k := range sortedKeys(mergeKeys(olds, news)) {
		if isInternalKey(k) || k == "version" {
			continue
		}
		o, n := olds[k], news[k]
		_, nUnknown := unwrap(n)
		if !nUnknown && stripSecrets(o).DeepEquals(stripSecrets(n)) {
			continue
		}
		kind := pulumirpc.PropertyDiff_UPDATE
		if o.IsNull() {
			kind = pulumirpc.PropertyDiff_ADD
		} else if n.IsNull() {
			kind = pulumirpc.PropertyDiff_DELETE
		}
		detailed[string(k)] = &pulumirpc.PropertyDiff{Kind: kind}
		diffs = append(diffs, string(k))
	}
	changes := pulumirpc.DiffResponse_DIFF_NONE
	if len(diffs) > 0 {
		changes = pulumirpc.DiffResponse_DIFF_SOME
	}
	return &pulumirpc.DiffResponse{Changes: changes, Diffs: diffs, DetailedDiff: detailed, HasDetailedDiff: true}, nil
}

func mergeKeys(a, b resource.PropertyMap) resource.PropertyMap {
	out := resource.PropertyMap{}
	for k := range a {
		out[k] = resource.NewNullProperty()
	}
	for k := range b {
		out[k] = resource.NewNullProperty()
	}
	return out
}

func stripSecrets(v resource.PropertyValue) resource.PropertyValue {
	switch {
	case v.IsSecret():
		return stripSecrets(v.SecretValue().Element)
	case v.IsOutput() && v.OutputValue().Known:
		return stripSecrets(v.OutputValue().Element)
	case v.IsArray():
		arr := make([]resource.PropertyValue, len(v.ArrayValue()))
		for i, e := range v.ArrayValue() {
			arr[i] = stripSecrets(e)
		}
		return resource.NewArrayProperty(arr)
	case v.IsObject():
		return resource.NewObjectProperty(stripSecretsMap(v.ObjectValue()))
	}
	return v
}

func stripSecretsMap(pm resource.PropertyMap) resource.PropertyMap {
	out := resource.PropertyMap{}
	for k, v := range pm {
		out[k] = stripSecrets(v)
	}
	return out
}

func (p *Provider) Configure(ctx context.Context, req *pulumirpc.ConfigureRequest) (*pulumirpc.ConfigureResponse, error) {
	resp := &pulumirpc.ConfigureResponse{AcceptSecrets: true, SupportsPreview: true, SupportsAutonamingConfiguration: true}
	var pm resource.PropertyMap
	var err error
	if req.GetArgs() != nil {
		pm, _, err = p.configProperties(req.GetArgs())
	} else {
		// Old engines send flat "docker:config:key" variables.
		vars := &structpb.Struct{Fields: map[string]*structpb.Value{}}
		for k, v := range req.GetVariables() {
			vars.Fields[k[strings.LastIndex(k, ":")+1:]] = structpb.NewStringValue(v)
		}
		pm, _, err = p.configProperties(vars)
	}
	if err != nil {
		return nil, err
	}
	if resource.NewObjectProperty(pm).ContainsUnknowns() {
		// Preview with configuration that is not known yet: plans work without a configured client.
		return resp, nil
	}
	val, err := p.configValue(stripSecretsMap(pm))
	if err != nil {
		return nil, fmt.Errorf("provider configuration: %w", err)
	}
	dv, err := msgpack.Marshal(val, p.configTy)
	if err != nil {
		return nil, err
	}
	cresp, err := p.server.ConfigureProvider(ctx, &tfprotov5.ConfigureProviderRequest{
		TerraformVersion: "1.9.0",
		Config:           &tfprotov5.DynamicValue{MsgPack: dv},
	})
	if err != nil {
		return nil, err
	}
	if err := diagsError(cresp.Diagnostics, p.config); err != nil {
		return nil, fmt.Errorf("configuring the docker provider: %w", err)
	}
	p.mu.Lock()
	p.configured = true
	p.mu.Unlock()
	return resp, nil
}

func (p *Provider) requireConfigured() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if !p.configured {
		return fmt.Errorf("the docker provider is not configured (its configuration is unknown until an update)")
	}
	return nil
}

// ---------------------------------------------------------------------------------------------------------
// Diagnostics

// diagsError joins error diagnostics into one error (nil if there are none); attribute paths are given with
// Pulumi names.
func diagsError(ds []*tfprotov5.Diagnostic, obj *Object) error {
	var msgs []string
	for _, d := range ds {
		if d.Severity != tfprotov5.DiagnosticSeverityError {
			continue
		}
		msgs = append(msgs, diagText(d, obj))
	}
	if len(msgs) == 0 {
		return nil
	}
	return fmt.Errorf("%s", strings.Join(msgs, "; "))
}

func diagText(d *tfprotov5.Diagnostic, obj *Object) string {
	msg := d.Summary
	if d.Detail != "" && d.Detail != d.Summary {
		msg += ": " + d.Detail
	}
	if d.Attribute != nil {
		if path := pulumiPath(d.Attribute, obj); path != "" {
			msg = fmt.Sprintf("%s (property %q)", msg, path)
		}
	}
	return renameInText(msg, obj)
}

// renameInText replaces quoted top-level Terraform attribute names in a message with their Pulumi names.
func renameInText(msg string, obj *Object) string {
	for _, f := range obj.Fields {
		if f.TFName != f.PulumiName {
			msg = strings.ReplaceAll(msg, `"`+f.TFName+`"`, `"`+f.PulumiName+`"`)
		}
	}
	return msg
}

// pulumiPath renders a Terraform attribute path with Pulumi names, e.g. healthcheck.tests[0].
func pulumiPath(ap *tftypes.AttributePath, obj *Object) string {
	var b strings.Builder
	cur := obj
	var last *Field
	for _, step := range ap.Steps() {
		switch s := step.(type) {
		case tftypes.AttributeName:
			name := string(s)
			if cur == nil {
				b.WriteString("." + name)
				continue
			}
			f := cur.Fields[name]
			if f == nil {
				if b.Len() > 0 {
					b.WriteString(".")
				}
				b.WriteString(name)
				cur, last = nil, nil
				continue
			}
			if b.Len() > 0 {
				b.WriteString(".")
			}
			b.WriteString(f.PulumiName)
			last = f
			if f.Block != nil && f.MaxItemsOne {
				cur = f.Block
			} else {
				cur = nil
			}
		case tftypes.ElementKeyInt:
			if last != nil && last.MaxItemsOne {
				continue
			}
			fmt.Fprintf(&b, "[%d]", int64(s))
			if last != nil && last.Block != nil {
				cur = last.Block
			}
		case tftypes.ElementKeyString:
			fmt.Fprintf(&b, "[%q]", string(s))
		case tftypes.ElementKeyValue:
			if last != nil && last.MaxItemsOne {
				continue
			}
			if last != nil && last.Block != nil {
				cur = last.Block
			}
		}
	}
	return b.String()
}

// ---------------------------------------------------------------------------------------------------------
// Terraform protocol helpers

func (p *Provider) encode(v cty.Value, ty cty.Type) (*tfprotov5.DynamicValue, error) {
	b, err := msgpack.Marshal(v, ty)
	if err != nil {
		return nil, err
	}
	return &tfprotov5.DynamicValue{MsgPack: b}, nil
}

// encodeAll encodes several values of one type, in order.
func (p *Provider) encodeAll(ty cty.Type, vs ...cty.Value) ([]*tfprotov5.DynamicValue, error) {
	out := make([]*tfprotov5.DynamicValue, len(vs))
	for i, v := range vs {
		dv, err := p.encode(v, ty)
		if err != nil {
			return nil, err
		}
		out[i] = dv
	}
	return out, nil
}

func decode(dv *tfprotov5.DynamicValue, ty cty.Type) (cty.Value, error) {
	if dv == nil {
		return cty.NullVal(ty), nil
	}
	return msgpack.Unmarshal(dv.MsgPack, ty)
}

// configFor converts checked Pulumi inputs to the Terraform configuration value; timeouts, if any, fill
// the resource's "timeouts" block.
func (e *resourceEntry) configFor(news resource.PropertyMap, timeouts map[string]float64) (cty.Value, error) {
	extra := map[string]cty.Value{"id": cty.NullVal(cty.String)}
	if e.ty.HasAttribute(schema.TimeoutsConfigKey) {
		tty := e.ty.AttributeType(schema.TimeoutsConfigKey)
		tv := cty.NullVal(tty)
		if len(timeouts) > 0 {
			attrs := map[string]cty.Value{}
			set := false
			for name := range tty.AttributeTypes() {
				attrs[name] = cty.NullVal(cty.String)
				if secs, ok := timeouts[name]; ok && secs > 0 {
					attrs[name] = cty.StringVal((time.Duration(secs * float64(time.Second))).String())
					set = true
				}
			}
			if set {
				tv = cty.ObjectVal(attrs)
			}
		}
		extra[schema.TimeoutsConfigKey] = tv
	}
	return toCtyObject("", news, e.obj, e.ty, extra)
}

// priorState rebuilds the Terraform state of a resource from its Pulumi outputs and runs it through the
// provider's state upgrade (as Terraform core does before every plan/refresh). It returns the state and
// the Terraform private data (timeouts, schema version) kept in "__meta".
func (p *Provider) priorState(ctx context.Context, e *resourceEntry, id string, outs resource.PropertyMap) (cty.Value, []byte, error) {
	outs = stripSecretsMap(outs)
	clean := resource.PropertyMap{}
	for k, v := range outs {
		if e.obj.ByPulumi[string(k)] != nil {
			clean[k] = v
		}
	}
	extra := map[string]cty.Value{"id": cty.StringVal(id)}
	if e.ty.HasAttribute(schema.TimeoutsConfigKey) {
		extra[schema.TimeoutsConfigKey] = cty.NullVal(e.ty.AttributeType(schema.TimeoutsConfigKey))
	}
	val, err := toCtyObject("", clean, e.obj, e.ty, extra)
	if err != nil {
		return cty.NilVal, nil, fmt.Errorf("reading the state of %s: %w", e.info.Token, err)
	}
	var private []byte
	version := int64(e.res.SchemaVersion)
	if m := outs[metaKey]; m.IsString() && m.StringValue() != "" {
		private = []byte(m.StringValue())
		var meta map[string]interface{}
		if json.Unmarshal(private, &meta) == nil {
			if sv, ok := meta["schema_version"].(string); ok {
				fmt.Sscan(sv, &version)
			}
		}
	}
	raw, err := ctyjson.Marshal(val, e.ty)
	if err != nil {
		return cty.NilVal, nil, err
	}
	uresp, err := p.server.UpgradeResourceState(ctx, &tfprotov5.UpgradeResourceStateRequest{
		TypeName: e.tfName,
		Version:  version,
		RawState: &tfprotov5.RawState{JSON: raw},
	})
	if err != nil {
		return cty.NilVal, nil, err
	}
	if err := diagsError(uresp.Diagnostics, e.obj); err != nil {
		return cty.NilVal, nil, fmt.Errorf("upgrading the state of %s: %w", e.info.Token, err)
	}
	up, err := decode(uresp.UpgradedState, e.ty)
	if err != nil {
		return cty.NilVal, nil, err
	}
	if private == nil {
		private, _ = json.Marshal(map[string]interface{}{"schema_version": fmt.Sprint(e.res.SchemaVersion)})
	}
	return up, private, nil
}

type planResult struct {
	planned         cty.Value
	private         []byte
	requiresReplace []*tftypes.AttributePath
}

func (p *Provider) plan(ctx context.Context, e *resourceEntry, prior cty.Value, private []byte, config cty.Value) (*planResult, error) {
	vs, err := p.encodeAll(e.ty, prior, config, proposedNew(e.block, prior, config))
	if err != nil {
		return nil, err
	}
	resp, err := p.server.PlanResourceChange(ctx, &tfprotov5.PlanResourceChangeRequest{
		TypeName:         e.tfName,
		PriorState:       vs[0],
		Config:           vs[1],
		ProposedNewState: vs[2],
		PriorPrivate:     private,
	})
	if err != nil {
		return nil, err
	}
	if err := diagsError(resp.Diagnostics, e.obj); err != nil {
		return nil, err
	}
	planned, err := decode(resp.PlannedState, e.ty)
	if err != nil {
		return nil, err
	}
	return &planResult{planned: planned, private: resp.PlannedPrivate, requiresReplace: resp.RequiresReplace}, nil
}

type applyResult struct {
	state   cty.Value
	private []byte
	err     error // the provider's error, possibly with a (partial) state
}

func (p *Provider) apply(ctx context.Context, e *resourceEntry, prior, planned, config cty.Value, private []byte) (*applyResult, error) {
	vs, err := p.encodeAll(e.ty, prior, planned, config)
	if err != nil {
		return nil, err
	}
	resp, err := p.server.ApplyResourceChange(ctx, &tfprotov5.ApplyResourceChangeRequest{
		TypeName:       e.tfName,
		PriorState:     vs[0],
		PlannedState:   vs[1],
		Config:         vs[2],
		PlannedPrivate: private,
	})
	if err != nil {
		return nil, err
	}
	st, err := decode(resp.NewState, e.ty)
	if err != nil {
		return nil, err
	}
	return &applyResult{state: st, private: resp.Private, err: diagsError(resp.Diagnostics, e.obj)}, nil
}

// outputs converts a Terraform state to Pulumi outputs ("id" and "__meta" included, like the bridge).
func (e *resourceEntry) outputs(state cty.Value, private []byte) resource.PropertyMap {
	outs := fromCtyObject(state, e.obj)
	if state.IsKnown() && !state.IsNull() {
		outs["id"] = fromCty(state.GetAttr("id"), nil)
	}
	if len(private) > 0 {
		var meta map[string]interface{}
		if json.Unmarshal(private, &meta) == nil {
			delete(meta, "_new_extra_shim")
			if len(meta) > 0 {
				b, _ := json.Marshal(meta)
				if string(b) != `{"schema_version":"0"}` {
					outs[metaKey] = resource.NewStringProperty(string(b))
				}
			}
		}
	}
	return outs
}

func stateID(state cty.Value) string {
	if state.IsNull() || !state.IsKnown() {
		return ""
	}
	id := state.GetAttr("id")
	if id.IsNull() || !id.IsKnown() {
		return ""
	}
	return id.AsString()
}

func marshal(pm resource.PropertyMap, keepUnknowns bool) (*structpb.Struct, error) {
	return plugin.MarshalProperties(pm, plugin.MarshalOptions{KeepUnknowns: keepUnknowns, KeepSecrets: true})
}

// initFailed reports an operation that failed after the resource came to exist, so that the engine records
// it (and its state) and deletes or replaces it later.
func initFailed(id string, props *structpb.Struct, inputs *structpb.Struct, reason error) error {
	st := status.New(codes.Unknown, reason.Error())
	st, derr := st.WithDetails(&pulumirpc.ErrorResourceInitFailed{
		Id:         id,
		Properties: props,
		Reasons:    []string{reason.Error()},
		Inputs:     inputs,
	})
	if derr != nil {
		return reason
	}
	return st.Err()
}

// ---------------------------------------------------------------------------------------------------------
// Resource lifecycle

func (p *Provider) Create(ctx context.Context, req *pulumirpc.CreateRequest) (*pulumirpc.CreateResponse, error) {
	e, err := p.entry(req.GetUrn())
	if err != nil {
		return nil, err
	}
	news, err := plugin.UnmarshalProperties(req.GetProperties(), unmarshalOpts)
	if err != nil {
		return nil, err
	}
	config, err := e.configFor(stripSecretsMap(news), map[string]float64{"create": req.GetTimeout()})
	if err != nil {
		return nil, err
	}
	prior := cty.NullVal(e.ty)
	pl, err := p.plan(ctx, e, prior, nil, config)
	if err != nil {
		return nil, fmt.Errorf("planning %s: %w", e.info.Token, err)
	}
	if req.GetPreview() {
		outs := e.outputs(pl.planned, nil)
		markSecrets(outs, news)
		props, err := marshal(outs, true)
		if err != nil {
			return nil, err
		}
		return &pulumirpc.CreateResponse{Properties: props}, nil
	}
	if err := p.requireConfigured(); err != nil {
		return nil, err
	}
	ar, err := p.apply(ctx, e, prior, pl.planned, config, pl.private)
	if err != nil {
		return nil, err
	}
	id := stateID(ar.state)
	if id == "" {
		if ar.err != nil {
			return nil, ar.err
		}
		return nil, fmt.Errorf("creating %s: the provider returned no id", e.info.Token)
	}
	outs := e.outputs(ar.state, ar.private)
	markSecrets(outs, news)
	props, err := marshal(outs, false)
	if err != nil {
		return nil, err
	}
	if ar.err != nil {
		return nil, initFailed(id, props, nil, ar.err)
	}
	return &pulumirpc.CreateResponse{Id: id, Properties: props}, nil
}

func (p *Provider) Update(ctx context.Context, req *pulumirpc.UpdateRequest) (*pulumirpc.UpdateResponse, error) {
	c, err := p.planChange(ctx, req.GetUrn(), req.GetId(), req.GetOlds(), req.GetNews(), map[string]float64{"update": req.GetTimeout()})
	if err != nil {
		return nil, err
	}
	e, olds, news, prior, private, config, pl := c.e, c.olds, c.news, c.prior, c.private, c.config, c.pl
	if rr := replacePaths(pl.requiresReplace); len(rr) > 0 {
		return nil, fmt.Errorf("internal error: update of %s requires a replacement (%s)", e.info.Token, strings.Join(rr, ", "))
	}
	if req.GetPreview() {
		outs := e.outputs(pl.planned, private)
		markSecrets(outs, news)
		markSecrets(outs, olds)
		props, err := marshal(outs, true)
		if err != nil {
			return nil, err
		}
		return &pulumirpc.UpdateResponse{Properties: props}, nil
	}
	if err := p.requireConfigured(); err != nil {
		return nil, err
	}
	ar, err := p.apply(ctx, e, prior, pl.planned, config, pl.private)
	if err != nil {
		return nil, err
	}
	if ar.state.IsNull() {
		if ar.err != nil {
			return nil, ar.err
		}
		return nil, fmt.Errorf("updating %s: the provider returned no state", e.info.Token)
	}
	outs := e.outputs(ar.state, ar.private)
	markSecrets(outs, news)
	props, err := marshal(outs, false)
	if err != nil {
		return nil, err
	}
	if ar.err != nil {
		return nil, initFailed(stateID(ar.state), props, nil, ar.err)
	}
	return &pulumirpc.UpdateResponse{Properties: props}, nil
}

func (p *Provider) Delete(ctx context.Context, req *pulumirpc.DeleteRequest) (*emptypb.Empty, error) {
	e, err := p.entry(req.GetUrn())
	if err != nil {
		return nil, err
	}
	if err := p.requireConfigured(); err != nil {
		return nil, err
	}
	olds, err := plugin.UnmarshalProperties(req.GetProperties(), unmarshalOpts)
	if err != nil {
		return nil, err
	}
	prior, private, err := p.priorState(ctx, e, req.GetId(), olds)
	if err != nil {
		return nil, err
	}
	if t := req.GetTimeout(); t > 0 {
		private = withTimeout(private, "delete", t)
	}
	ar, err := p.apply(ctx, e, prior, cty.NullVal(e.ty), cty.NullVal(e.ty), private)
	if err != nil {
		return nil, err
	}
	if ar.err != nil {
		return nil, ar.err
	}
	return &emptypb.Empty{}, nil
}

// withTimeout records a custom timeout in Terraform private data, where the SDK reads it on destroy.
func withTimeout(private []byte, key string, secs float64) []byte {
	meta := map[string]interface{}{}
	_ = json.Unmarshal(private, &meta)
	tm, _ := meta[schema.TimeoutKey].(map[string]interface{})
	if tm == nil {
		tm = map[string]interface{}{}
	}
	tm[key] = int64(secs * float64(time.Second))
	meta[schema.TimeoutKey] = tm
	b, _ := json.Marshal(meta)
	return b
}

func (p *Provider) Read(ctx context.Context, req *pulumirpc.ReadRequest) (*pulumirpc.ReadResponse, error) {
	e, err := p.entry(req.GetUrn())
	if err != nil {
		return nil, err
	}
	if err := p.requireConfigured(); err != nil {
		return nil, err
	}
	olds, err := plugin.UnmarshalProperties(req.GetProperties(), unmarshalOpts)
	if err != nil {
		return nil, err
	}
	oldInputs, err := plugin.UnmarshalProperties(req.GetInputs(), unmarshalOpts)
	if err != nil {
		return nil, err
	}
	isRefresh := len(olds) > 0
	var current *tfprotov5.DynamicValue
	var private []byte
	if isRefresh {
		prior, priv, err := p.priorState(ctx, e, req.GetId(), olds)
		if err != nil {
			return nil, err
		}
		if current, err = p.encode(prior, e.ty); err != nil {
			return nil, err
		}
		private = priv
	} else {
		iresp, err := p.server.ImportResourceState(ctx, &tfprotov5.ImportResourceStateRequest{TypeName: e.tfName, ID: req.GetId()})
		if err != nil {
			return nil, err
		}
		if err := diagsError(iresp.Diagnostics, e.obj); err != nil {
			return nil, fmt.Errorf("importing %s %q: %w", e.info.Token, req.GetId(), err)
		}
		if len(iresp.ImportedResources) == 0 {
			return &pulumirpc.ReadResponse{}, nil
		}
		current, private = iresp.ImportedResources[0].State, iresp.ImportedResources[0].Private
	}
	rresp, err := p.server.ReadResource(ctx, &tfprotov5.ReadResourceRequest{TypeName: e.tfName, CurrentState: current, Private: private})
	if err != nil {
		return nil, err
	}
	if err := diagsError(rresp.Diagnostics, e.obj); err != nil {
		return nil, fmt.Errorf("reading %s %q: %w", e.info.Token, req.GetId(), err)
	}
	st, err := decode(rresp.NewState, e.ty)
	if err != nil {
		return nil, err
	}
	id := stateID(st)
	if id == "" {
		// The resource is gone.
		return &pulumirpc.ReadResponse{}, nil
	}
	outs := e.outputs(st, rresp.Private)
	markSecrets(outs, olds)
	markSecrets(outs, oldInputs)
	var inputs resource.PropertyMap
	if isRefresh {
		inputs = refreshInputs(oldInputs, outs, e.obj)
	} else {
		inputs = importInputs(outs, e.obj)
	}
	props, err := marshal(outs, false)
	if err != nil {
		return nil, err
	}
	ins, err := marshal(inputs, false)
	if err != nil {
		return nil, err
	}
	return &pulumirpc.ReadResponse{Id: id, Properties: props, Inputs: ins}, nil
}

// refreshInputs updates the inputs the program had set with what the resource looks like now.
func refreshInputs(oldInputs, outs resource.PropertyMap, obj *Object) resource.PropertyMap {
	res := resource.PropertyMap{}
	for k, v := range oldInputs {
		if isInternalKey(k) {
			continue
		}
		f := obj.ByPulumi[string(k)]
		nv, ok := outs[k]
		if f == nil || !ok {
			res[k] = v
			continue
		}
		res[k] = refreshValue(v, nv, f)
	}
	return res
}

func refreshValue(old, cur resource.PropertyValue, f *Field) resource.PropertyValue {
	wasSecret := old.ContainsSecrets()
	o, cu := stripSecrets(old), stripSecrets(cur)
	var out resource.PropertyValue
	switch {
	case o.IsObject() && cu.IsObject() && f != nil && f.Block != nil:
		out = resource.NewObjectProperty(refreshInputs(o.ObjectValue(), cu.ObjectValue(), f.Block))
	case o.IsArray() && cu.IsArray() && f != nil && f.Block != nil && f.Schema.Type == schema.TypeList:
		oa, ca := o.ArrayValue(), cu.ArrayValue()
		var arr []resource.PropertyValue
		for i := range oa {
			if i >= len(ca) {
				break
			}
			if oa[i].IsObject() && ca[i].IsObject() {
				arr = append(arr, resource.NewObjectProperty(refreshInputs(oa[i].ObjectValue(), ca[i].ObjectValue(), f.Block)))
			} else {
				arr = append(arr, ca[i])
			}
		}
		out = resource.NewArrayProperty(arr)
	case o.IsString() && cu.IsString() && f != nil && f.Schema.StateFunc != nil &&
		f.Schema.StateFunc(o.StringValue()) == cu.StringValue():
		out = o
	default:
		out = cu
	}
	if wasSecret && !out.IsSecret() {
		out = resource.MakeSecret(out)
	}
	return out
}

// importInputs derives inputs from the outputs of an imported resource: every settable, non-null value.
func importInputs(outs resource.PropertyMap, obj *Object) resource.PropertyMap {
	res := resource.PropertyMap{}
	for k, v := range outs {
		f := obj.ByPulumi[string(k)]
		if f == nil || !f.IsInput() || v.IsNull() {
			continue
		}
		res[k] = v
	}
	return res
}

// replacePaths lists the top-level attributes in Terraform's RequiresReplace, "id" excluded.
func replacePaths(paths []*tftypes.AttributePath) []string {
	var out []string
	for _, ap := range paths {
		steps := ap.Steps()
		if len(steps) == 0 {
			continue
		}
		if n, ok := steps[0].(tftypes.AttributeName); ok && n != "id" {
			out = append(out, string(n))
		}
	}
	return out
}
