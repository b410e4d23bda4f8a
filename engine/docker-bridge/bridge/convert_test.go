package bridge

import (
	"strings"
	"testing"

	"github.com/hashicorp/go-cty/cty"
	"github.com/hashicorp/terraform-plugin-go/tfprotov5"
	"github.com/hashicorp/terraform-plugin-go/tftypes"
	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
)

func TestConvertRoundTrip(t *testing.T) {
	p := newTestProvider(t)
	e := p.resources[containerTok]
	args := containerArgs("img", "no")
	args["name"] = resource.NewStringProperty("web")
	v, err := e.configFor(args, nil)
	if err != nil {
		t.Fatal(err)
	}
	// Terraform shape: snake_case, MaxItems=1 blocks as one-element lists, absent blocks as empty lists.
	if hc := v.GetAttr("healthcheck"); !hc.Type().IsListType() || hc.LengthInt() != 1 {
		t.Fatalf("healthcheck must be a one-element list, got %#v", hc)
	}
	if tests := v.GetAttr("healthcheck").Index(cty.NumberIntVal(0)).GetAttr("test"); tests.LengthInt() != 2 {
		t.Fatalf("healthcheck.test: %#v", tests)
	}
	if v.GetAttr("network_data").IsNull() != true || v.GetAttr("capabilities").LengthInt() != 0 {
		t.Fatalf("output-only attributes are null, absent blocks empty")
	}
	if v.GetAttr("log_opts").Index(cty.StringVal("max-size")).AsString() != "10m" {
		t.Fatalf("map keys are kept verbatim")
	}
	back := fromCtyObject(v, e.obj)
	for k, want := range args {
		if got := back[k]; !sdkEqual(got, want) {
			t.Errorf("%s: %v -> %v", k, want, got)
		}
	}
	if !back["healthcheck"].IsObject() || !back["capabilities"].IsNull() {
		t.Errorf("MaxItems=1 blocks come back flattened (null when absent): %v %v", back["healthcheck"], back["capabilities"])
	}
}

func TestConvertCoercionsUnknownsSecrets(t *testing.T) {
	p := newTestProvider(t)
	e := p.resources[containerTok]
	args := resource.PropertyMap{
		"image":       resource.MakeSecret(resource.NewStringProperty("img")),
		"memory":      resource.NewStringProperty("64"),                      // number given as a string
		"cpus":        resource.NewNumberProperty(1.5),                       // string given as a number
		"privileged":  resource.NewStringProperty("true"),                    // bool given as a string
		"hostname":    resource.MakeComputed(resource.NewStringProperty("")), // unknown
		"envs":        resource.NewArrayProperty([]resource.PropertyValue{resource.MakeComputed(resource.NewStringProperty(""))}),
		"healthcheck": resource.MakeComputed(resource.NewObjectProperty(resource.PropertyMap{})),
	}
	v, err := e.configFor(args, nil)
	if err != nil {
		t.Fatal(err)
	}
	if v.GetAttr("image").AsString() != "img" || v.GetAttr("cpus").AsString() != "1.5" || !v.GetAttr("privileged").True() {
		t.Errorf("coercions: %#v", v)
	}
	if f, _ := v.GetAttr("memory").AsBigFloat().Float64(); f != 64 {
		t.Errorf("memory: %#v", v.GetAttr("memory"))
	}
	if v.GetAttr("hostname").IsKnown() || v.GetAttr("healthcheck").IsKnown() || v.GetAttr("env").IsWhollyKnown() {
		t.Errorf("unknowns must stay unknown")
	}
	if fromCty(cty.UnknownVal(cty.String), nil).IsComputed() != true {
		t.Errorf("unknown -> computed")
	}
	if _, err := e.configFor(resource.PropertyMap{"memory": resource.NewStringProperty("lots")}, nil); err == nil || !strings.Contains(err.Error(), "memory") {
		t.Errorf("bad number must be an error naming the property, got %v", err)
	}
	if _, err := e.configFor(resource.PropertyMap{"envs": resource.NewStringProperty("A=1")}, nil); err == nil || !strings.Contains(err.Error(), "envs") {
		t.Errorf("wrong shape must be an error naming the property, got %v", err)
	}
}

func TestProposedNew(t *testing.T) {
	block := &tfprotov5.SchemaBlock{
		Attributes: []*tfprotov5.SchemaAttribute{
			{Name: "id", Computed: true, Optional: true},
			{Name: "name", Required: true},
			{Name: "ip", Computed: true},
			{Name: "mode", Optional: true, Computed: true},
		},
		BlockTypes: []*tfprotov5.SchemaNestedBlock{{
			TypeName: "port", Nesting: tfprotov5.SchemaNestedBlockNestingModeSet,
			Block: &tfprotov5.SchemaBlock{Attributes: []*tfprotov5.SchemaAttribute{
				{Name: "internal", Required: true},
				{Name: "external", Optional: true, Computed: true},
			}},
		}},
	}
	port := func(in, ex cty.Value) cty.Value {
		return cty.ObjectVal(map[string]cty.Value{"internal": in, "external": ex})
	}
	prior := cty.ObjectVal(map[string]cty.Value{
		"id": cty.StringVal("x"), "name": cty.StringVal("a"), "ip": cty.StringVal("10.0.0.2"), "mode": cty.StringVal("bridge"),
		"port": cty.SetVal([]cty.Value{port(cty.NumberIntVal(80), cty.NumberIntVal(32768))}),
	})
	config := cty.ObjectVal(map[string]cty.Value{
		"id": cty.NullVal(cty.String), "name": cty.StringVal("b"), "ip": cty.NullVal(cty.String), "mode": cty.NullVal(cty.String),
		"port": cty.SetVal([]cty.Value{port(cty.NumberIntVal(80), cty.NullVal(cty.Number)), port(cty.NumberIntVal(443), cty.NullVal(cty.Number))}),
	})
	got := proposedNew(block, prior, config)
	if got.GetAttr("name").AsString() != "b" || got.GetAttr("ip").AsString() != "10.0.0.2" ||
		got.GetAttr("mode").AsString() != "bridge" || got.GetAttr("id").AsString() != "x" {
		t.Errorf("attributes: %#v", got)
	}
	want := cty.SetVal([]cty.Value{port(cty.NumberIntVal(80), cty.NumberIntVal(32768)), port(cty.NumberIntVal(443), cty.NullVal(cty.Number))})
	if !got.GetAttr("port").RawEquals(want) {
		t.Errorf("set elements are matched on their non-computed attributes: %#v", got.GetAttr("port"))
	}
	// Creation: no prior state.
	created := proposedNew(block, cty.NullVal(prior.Type()), config)
	if !created.GetAttr("ip").IsNull() || created.GetAttr("name").AsString() != "b" {
		t.Errorf("create: %#v", created)
	}
}

func TestPulumiPathOfDiagnostics(t *testing.T) {
	p := newTestProvider(t)
	obj := p.resources[containerTok].obj
	cases := map[string]*tftypes.AttributePath{
		"healthcheck.tests[1]":         tftypes.NewAttributePath().WithAttributeName("healthcheck").WithElementKeyInt(0).WithAttributeName("test").WithElementKeyInt(1),
		"ports[2].external":            tftypes.NewAttributePath().WithAttributeName("ports").WithElementKeyInt(2).WithAttributeName("external"),
		"networksAdvanced.ipv4Address": tftypes.NewAttributePath().WithAttributeName("networks_advanced").WithElementKeyValue(tftypes.NewValue(tftypes.String, "x")).WithAttributeName("ipv4_address"),
		`logOpts["max-size"]`:          tftypes.NewAttributePath().WithAttributeName("log_opts").WithElementKeyString("max-size"),
	}
	for want, ap := range cases {
		if got := pulumiPath(ap, obj); got != want {
			t.Errorf("got %q, want %q", got, want)
		}
	}
}
