package bridge

import (
	"context"
	"strings"
	"testing"

	"github.com/hashicorp/go-cty/cty"
	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
	"github.com/pulumi/pulumi/sdk/v3/go/common/resource/plugin"
	"github.com/pulumi/pulumi/sdk/v3/go/common/tokens"
	pulumirpc "github.com/pulumi/pulumi/sdk/v3/proto/go"
	tfprovider "github.com/terraform-providers/terraform-provider-docker/internal/provider"
	"google.golang.org/protobuf/types/known/structpb"
)

// These tests drive the provider through its gRPC methods with the real Terraform docker provider schema;
// none of them talks to a Docker engine (no Configure, no Apply).

func newTestProvider(t *testing.T) *Provider {
	t.Helper()
	p, err := NewProvider(nil, tfprovider.New("test")())
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func urnFor(token, name string) string {
	return string(resource.NewURN("dev", "proj", "", tokens.Type(token), name))
}

func mustStruct(t *testing.T, pm resource.PropertyMap) *structpb.Struct {
	t.Helper()
	s, err := plugin.MarshalProperties(pm, plugin.MarshalOptions{KeepUnknowns: true, KeepSecrets: true})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func fromStruct(t *testing.T, s *structpb.Struct) resource.PropertyMap {
	t.Helper()
	pm, err := plugin.UnmarshalProperties(s, plugin.MarshalOptions{KeepUnknowns: true, KeepSecrets: true})
	if err != nil {
		t.Fatal(err)
	}
	return pm
}

func check(t *testing.T, p *Provider, token, name string, news, olds resource.PropertyMap) (resource.PropertyMap, []*pulumirpc.CheckFailure) {
	t.Helper()
	resp, err := p.Check(context.Background(), &pulumirpc.CheckRequest{
		Urn: urnFor(token, name), News: mustStruct(t, news), Olds: mustStruct(t, olds),
		RandomSeed: []byte("0123456789abcdef0123456789abcdef"),
	})
	if err != nil {
		t.Fatal(err)
	}
	if resp.Inputs == nil {
		return nil, resp.Failures
	}
	return fromStruct(t, resp.Inputs), resp.Failures
}

func mustCheck(t *testing.T, p *Provider, token, name string, news, olds resource.PropertyMap) resource.PropertyMap {
	t.Helper()
	ins, failures := check(t, p, token, name, news, olds)
	for _, f := range failures {
		t.Errorf("unexpected check failure at %q: %s", f.Property, f.Reason)
	}
	return ins
}

// fakeState plays "apply" without Docker: the planned state with every unknown replaced by a plausible value.
func fakeState(t *testing.T, p *Provider, token, name string, inputs resource.PropertyMap) resource.PropertyMap {
	t.Helper()
	e := p.resources[token]
	config, err := e.configFor(stripSecretsMap(inputs), nil)
	if err != nil {
		t.Fatal(err)
	}
	pl, err := p.plan(context.Background(), e, cty.NullVal(e.ty), nil, config)
	if err != nil {
		t.Fatal(err)
	}
	st, err := cty.Transform(pl.planned, func(path cty.Path, v cty.Value) (cty.Value, error) {
		if v.IsKnown() {
			return v, nil
		}
		ty := v.Type()
		switch {
		case ty == cty.String:
			return cty.StringVal("fake-" + name), nil
		case ty == cty.Number:
			return cty.NumberIntVal(0), nil
		case ty == cty.Bool:
			return cty.False, nil
		case ty.IsListType():
			return cty.ListValEmpty(ty.ElementType()), nil
		case ty.IsSetType():
			return cty.SetValEmpty(ty.ElementType()), nil
		case ty.IsMapType():
			return cty.MapValEmpty(ty.ElementType()), nil
		}
		return cty.NullVal(ty), nil
	})
	if err != nil {
		t.Fatal(err)
	}
	outs := e.outputs(st, pl.private)
	markSecrets(outs, inputs)
	return outs
}

func diff(t *testing.T, p *Provider, token, name string, olds, news resource.PropertyMap) *pulumirpc.DiffResponse {
	t.Helper()
	resp, err := p.Diff(context.Background(), &pulumirpc.DiffRequest{
		Id: olds["id"].StringValue(), Urn: urnFor(token, name), Olds: mustStruct(t, olds), News: mustStruct(t, news),
	})
	if err != nil {
		t.Fatal(err)
	}
	return resp
}

const (
	containerTok = "docker:index/container:Container"
	volumeTok    = "docker:index/volume:Volume"
	networkTok   = "docker:index/network:Network"
	secretTok    = "docker:index/secret:Secret"
	imageTok     = "docker:index/remoteImage:RemoteImage"
)

func containerArgs(image, restart string) resource.PropertyMap {
	return resource.NewPropertyMapFromMap(map[string]interface{}{
		"image":   image,
		"restart": restart,
		"envs":    []interface{}{"A=1", "B=2"},
		"labels":  []interface{}{map[string]interface{}{"label": "platform.stack", "value": "dev"}},
		"ports":   []interface{}{map[string]interface{}{"internal": 80, "external": 8080}},
		"healthcheck": map[string]interface{}{
			"tests": []interface{}{"CMD", "true"}, "interval": "5s",
		},
		"networksAdvanced": []interface{}{map[string]interface{}{"name": "net1", "aliases": []interface{}{"web"}}},
		"mounts":           []interface{}{map[string]interface{}{"type": "volume", "source": "data", "target": "/data"}},
		"uploads":          []interface{}{map[string]interface{}{"file": "/etc/x.conf", "content": "hello"}},
		"logOpts":          map[string]interface{}{"max-size": "10m"},
		"command":          []interface{}{"sleep", "infinity"},
	})
}

func TestCheckUnknownKeyIsAnError(t *testing.T) {
	p := newTestProvider(t)
	args := containerArgs("img", "no")
	args["imageName"] = resource.NewStringProperty("x")
	_, failures := check(t, p, containerTok, "web", args, nil)
	if len(failures) != 1 || failures[0].Property != "imageName" || !strings.Contains(failures[0].Reason, `"imageName"`) {
		t.Fatalf("want one failure naming imageName, got %v", failures)
	}

	args = containerArgs("img", "no")
	args["healthcheck"].ObjectValue()["test"] = resource.NewArrayProperty(nil)
	_, failures = check(t, p, containerTok, "web", args, nil)
	if len(failures) != 1 || failures[0].Property != "healthcheck.test" || !strings.Contains(failures[0].Reason, `did you mean "tests"`) {
		t.Fatalf("want a failure for healthcheck.test suggesting tests, got %v", failures)
	}

	args = containerArgs("img", "no")
	args["network_mode"] = resource.NewStringProperty("host")
	_, failures = check(t, p, containerTok, "web", args, nil)
	if len(failures) != 1 || !strings.Contains(failures[0].Reason, `did you mean "networkMode"`) {
		t.Fatalf("want a failure suggesting networkMode, got %v", failures)
	}

	args = containerArgs("img", "no")
	args["exitCode"] = resource.NewNumberProperty(1)
	_, failures = check(t, p, containerTok, "web", args, nil)
	if len(failures) != 1 || !strings.Contains(failures[0].Reason, "output") {
		t.Fatalf("want a failure for the output exitCode, got %v", failures)
	}
}

func TestCheckTerraformValidation(t *testing.T) {
	p := newTestProvider(t)
	args := containerArgs("img", "sometimes") // restart must be no|on-failure|always|unless-stopped
	_, failures := check(t, p, containerTok, "web", args, nil)
	if len(failures) == 0 || failures[0].Property != "restart" {
		t.Fatalf("want a failure for restart, got %v", failures)
	}
	delete(args, "image")
	args["restart"] = resource.NewStringProperty("no")
	_, failures = check(t, p, containerTok, "web", args, nil)
	if len(failures) == 0 || !strings.Contains(failures[0].Reason, "image") {
		t.Fatalf("want a failure for the missing image, got %v", failures)
	}
}

func TestCheckDefaultsAndAutoname(t *testing.T) {
	p := newTestProvider(t)
	ins := mustCheck(t, p, containerTok, "web", containerArgs("img", "always"), nil)
	name := ins["name"]
	if !name.IsString() || !strings.HasPrefix(name.StringValue(), "web-") || len(name.StringValue()) != len("web-")+7 {
		t.Fatalf("want an auto-name web-xxxxxxx, got %v", name)
	}
	if !ins["wait"].IsBool() || ins["wait"].BoolValue() {
		t.Errorf("want the Terraform default wait=false, got %v", ins["wait"])
	}
	defaults := ins[defaultsKey]
	if !defaults.IsArray() || !containsString(defaults.ArrayValue(), "name") || !containsString(defaults.ArrayValue(), "wait") {
		t.Errorf("want name and wait in __defaults, got %v", defaults)
	}
	if containsString(defaults.ArrayValue(), "restart") {
		t.Errorf("restart was set by the program, yet listed as a default: %v", defaults)
	}
	// The auto-name is stable across updates.
	again := mustCheck(t, p, containerTok, "web", containerArgs("img2", "always"), ins)
	if !again["name"].DeepEquals(name) {
		t.Errorf("auto-name changed on update: %v -> %v", name, again["name"])
	}
	// An explicit name is kept, and not listed as a default.
	args := containerArgs("img", "always")
	args["name"] = resource.NewStringProperty("explicit")
	ins = mustCheck(t, p, containerTok, "web", args, nil)
	if ins["name"].StringValue() != "explicit" || containsString(ins[defaultsKey].ArrayValue(), "name") {
		t.Errorf("explicit name not kept: %v %v", ins["name"], ins[defaultsKey])
	}
	// RemoteImage.name is the image reference: never auto-named.
	_, failures := check(t, p, imageTok, "img", resource.PropertyMap{}, nil)
	if len(failures) == 0 {
		t.Errorf("RemoteImage without a name must fail")
	}
}

func containsString(arr []resource.PropertyValue, s string) bool {
	for _, v := range arr {
		if v.IsString() && v.StringValue() == s {
			return true
		}
	}
	return false
}

func TestSecretsStaySecret(t *testing.T) {
	p := newTestProvider(t)
	args := containerArgs("img", "no")
	args["envs"] = resource.MakeSecret(resource.NewArrayProperty([]resource.PropertyValue{resource.NewStringProperty("PASSWORD=x")}))
	ins := mustCheck(t, p, containerTok, "web", args, nil)
	if !ins["envs"].IsSecret() {
		t.Fatalf("secret input lost its secretness in Check: %v", ins["envs"])
	}
	// Create (preview) and state outputs keep it secret.
	resp, err := p.Create(context.Background(), &pulumirpc.CreateRequest{Urn: urnFor(containerTok, "web"), Properties: mustStruct(t, ins), Preview: true})
	if err != nil {
		t.Fatal(err)
	}
	outs := fromStruct(t, resp.Properties)
	if !outs["envs"].IsSecret() {
		t.Errorf("secret input produced a plain output: %v", outs["envs"])
	}
	if !outs["id"].IsComputed() || !outs["exitCode"].IsComputed() {
		t.Errorf("computed outputs must be unknown in preview: id=%v exitCode=%v", outs["id"], outs["exitCode"])
	}
	// Sensitive Terraform attributes become secrets.
	sins := mustCheck(t, p, secretTok, "s", resource.NewPropertyMapFromMap(map[string]interface{}{"data": "aGVsbG8="}), nil)
	if !sins["data"].IsSecret() {
		t.Errorf("Secret.data is Sensitive and must be secret: %v", sins["data"])
	}
	state := fakeState(t, p, secretTok, "s", sins)
	if !state["data"].IsSecret() {
		t.Errorf("Secret.data output must be secret: %v", state["data"])
	}
}

func TestPreviewWithUnknownInputs(t *testing.T) {
	p := newTestProvider(t)
	args := containerArgs("img", "no")
	args["image"] = resource.MakeComputed(resource.NewStringProperty(""))
	args["networksAdvanced"] = resource.NewArrayProperty([]resource.PropertyValue{resource.NewObjectProperty(resource.PropertyMap{
		"name": resource.MakeComputed(resource.NewStringProperty("")),
	})})
	ins := mustCheck(t, p, containerTok, "web", args, nil)
	if !ins["image"].IsComputed() {
		t.Fatalf("unknown image lost in Check: %v", ins["image"])
	}
	resp, err := p.Create(context.Background(), &pulumirpc.CreateRequest{Urn: urnFor(containerTok, "web"), Properties: mustStruct(t, ins), Preview: true})
	if err != nil {
		t.Fatal(err)
	}
	outs := fromStruct(t, resp.Properties)
	if !outs["image"].IsComputed() || !outs["restart"].IsString() {
		t.Errorf("want unknown image and known restart in preview, got %v / %v", outs["image"], outs["restart"])
	}
}

func TestContainerDiffs(t *testing.T) {
	p := newTestProvider(t)
	ins := mustCheck(t, p, containerTok, "web", containerArgs("img:1", "no"), nil)
	state := fakeState(t, p, containerTok, "web", ins)

	// Same inputs again: no diff at all (idempotence).
	same := mustCheck(t, p, containerTok, "web", containerArgs("img:1", "no"), ins)
	if d := diff(t, p, containerTok, "web", state, same); d.Changes != pulumirpc.DiffResponse_DIFF_NONE {
		t.Fatalf("unchanged container shows a diff: %v", d)
	}

	// restart: updated in place.
	upd := mustCheck(t, p, containerTok, "web", containerArgs("img:1", "always"), ins)
	d := diff(t, p, containerTok, "web", state, upd)
	if d.Changes != pulumirpc.DiffResponse_DIFF_SOME || len(d.Replaces) != 0 || d.DetailedDiff["restart"].GetKind() != pulumirpc.PropertyDiff_UPDATE {
		t.Fatalf("restart change must be an in-place update, got %v", d)
	}

	// image: replaced, and containers are deleted before they are replaced (pulumi-docker sets it).
	rep := mustCheck(t, p, containerTok, "web", containerArgs("img:2", "no"), ins)
	d = diff(t, p, containerTok, "web", state, rep)
	if d.Changes != pulumirpc.DiffResponse_DIFF_SOME || !equalStrings(d.Replaces, []string{"image"}) ||
		d.DetailedDiff["image"].GetKind() != pulumirpc.PropertyDiff_UPDATE_REPLACE || !d.DeleteBeforeReplace {
		t.Fatalf("image change must replace (delete first), got %v", d)
	}

	// A nested ForceNew attribute: ports[0].external replaces, reported at its nested path.
	args := containerArgs("img:1", "no")
	args["ports"].ArrayValue()[0].ObjectValue()["external"] = resource.NewNumberProperty(9090)
	pt := mustCheck(t, p, containerTok, "web", args, ins)
	d = diff(t, p, containerTok, "web", state, pt)
	if !equalStrings(d.Replaces, []string{"ports"}) || d.DetailedDiff["ports[0].external"].GetKind() != pulumirpc.PropertyDiff_UPDATE_REPLACE {
		t.Fatalf("ports[0].external change must replace, got %v", d)
	}

	// healthcheck is ForceNew but its attributes are not, and the SDK does not propagate ForceNew into
	// nested blocks: upstream updates healthcheck.interval in place, and so do we.
	args = containerArgs("img:1", "no")
	args["healthcheck"].ObjectValue()["interval"] = resource.NewStringProperty("10s")
	hc := mustCheck(t, p, containerTok, "web", args, ins)
	d = diff(t, p, containerTok, "web", state, hc)
	if len(d.Replaces) != 0 || d.DetailedDiff["healthcheck.interval"].GetKind() != pulumirpc.PropertyDiff_UPDATE {
		t.Fatalf("healthcheck.interval change: want an in-place update like upstream, got %v", d)
	}

	// Adding an env var (ForceNew set) replaces.
	args = containerArgs("img:1", "no")
	args["envs"] = resource.NewArrayProperty(append(args["envs"].ArrayValue(), resource.NewStringProperty("C=3")))
	env := mustCheck(t, p, containerTok, "web", args, ins)
	d = diff(t, p, containerTok, "web", state, env)
	if !equalStrings(d.Replaces, []string{"envs"}) {
		t.Fatalf("env change must replace, got %v", d)
	}
}

func equalStrings(a, b []string) bool {
	return strings.Join(a, ",") == strings.Join(b, ",")
}

func TestVolumeAndNetworkDiffs(t *testing.T) {
	p := newTestProvider(t)
	for _, tok := range []string{volumeTok, networkTok} {
		labels := func(v string) resource.PropertyMap {
			return resource.NewPropertyMapFromMap(map[string]interface{}{
				"labels": []interface{}{map[string]interface{}{"label": "owner", "value": v}},
			})
		}
		// Auto-named: replacement creates the new one first.
		ins := mustCheck(t, p, tok, "v", labels("a"), nil)
		state := fakeState(t, p, tok, "v", ins)
		if d := diff(t, p, tok, "v", state, mustCheck(t, p, tok, "v", labels("a"), ins)); d.Changes != pulumirpc.DiffResponse_DIFF_NONE {
			t.Fatalf("%s: unchanged shows a diff: %v", tok, d)
		}
		d := diff(t, p, tok, "v", state, mustCheck(t, p, tok, "v", labels("b"), ins))
		if !equalStrings(d.Replaces, []string{"labels"}) || d.DeleteBeforeReplace {
			t.Fatalf("%s: labels change must replace without delete-before-replace (auto-named), got %v", tok, d)
		}
		// Explicit name: delete before replace.
		named := labels("a")
		named["name"] = resource.NewStringProperty("fixed")
		ins = mustCheck(t, p, tok, "v", named, nil)
		state = fakeState(t, p, tok, "v", ins)
		named2 := labels("b")
		named2["name"] = resource.NewStringProperty("fixed")
		d = diff(t, p, tok, "v", state, mustCheck(t, p, tok, "v", named2, ins))
		if !equalStrings(d.Replaces, []string{"labels"}) || !d.DeleteBeforeReplace {
			t.Fatalf("%s: labels change of a named resource must delete before replace, got %v", tok, d)
		}
	}
}

func TestTimeoutsReachTheConfig(t *testing.T) {
	p := newTestProvider(t)
	e := p.resources[containerTok]
	cfg, err := e.configFor(containerArgs("img", "no"), map[string]float64{"create": 90})
	if err != nil {
		t.Fatal(err)
	}
	to := cfg.GetAttr("timeouts")
	if to.IsNull() || to.GetAttr("create").AsString() != "1m30s" {
		t.Fatalf("want timeouts.create=1m30s, got %#v", to)
	}
	meta := withTimeout([]byte(`{"schema_version":"2"}`), "delete", 5)
	if !strings.Contains(string(meta), `"delete":5000000000`) || !strings.Contains(string(meta), `"schema_version":"2"`) {
		t.Fatalf("bad private meta %s", meta)
	}
}

func TestProviderConfigJSONStrings(t *testing.T) {
	p := newTestProvider(t)
	in := resource.NewPropertyMapFromMap(map[string]interface{}{
		"host":         "ssh://deploy@host",
		"sshOpts":      `["-o","StrictHostKeyChecking=no"]`,
		"registryAuth": `[{"address":"registry.example.com","username":"u","password":"p"}]`,
		"version":      "5.0.0",
	})
	pm, failures, err := p.configProperties(mustStruct(t, in))
	if err != nil || len(failures) > 0 {
		t.Fatal(err, failures)
	}
	v, err := p.configValue(pm)
	if err != nil {
		t.Fatal(err)
	}
	if v.GetAttr("ssh_opts").LengthInt() != 2 || v.GetAttr("registry_auth").LengthInt() != 1 || v.GetAttr("host").AsString() != "ssh://deploy@host" {
		t.Fatalf("bad provider config %#v", v)
	}
	// Native (non-JSON) values work too.
	in["sshOpts"] = resource.NewPropertyValue([]interface{}{"-o", "A=b"})
	pm, _, _ = p.configProperties(mustStruct(t, in))
	if v, err = p.configValue(pm); err != nil || v.GetAttr("ssh_opts").LengthInt() != 2 {
		t.Fatalf("native sshOpts: %v %#v", err, v)
	}
	in["nope"] = resource.NewStringProperty("x")
	if _, failures, _ = p.configProperties(mustStruct(t, in)); len(failures) != 1 || failures[0].Property != "nope" {
		t.Fatalf("unknown config key must fail, got %v", failures)
	}
}

func TestServiceModeGlobalHasNoDefault(t *testing.T) {
	p := newTestProvider(t)
	args := resource.NewPropertyMapFromMap(map[string]interface{}{
		"taskSpec": map[string]interface{}{"containerSpec": map[string]interface{}{"image": "img"}},
		"mode":     map[string]interface{}{"replicated": map[string]interface{}{"replicas": 2}},
	})
	ins := mustCheck(t, p, "docker:index/service:Service", "svc", args, nil)
	mode := ins["mode"].ObjectValue()
	if _, has := mode["global"]; has {
		t.Errorf("mode.global must not be defaulted (pulumi-docker removes that default): %v", mode)
	}
	state := fakeState(t, p, "docker:index/service:Service", "svc", ins)
	again := mustCheck(t, p, "docker:index/service:Service", "svc", args, ins)
	if d := diff(t, p, "docker:index/service:Service", "svc", state, again); d.Changes != pulumirpc.DiffResponse_DIFF_NONE {
		t.Errorf("unchanged service shows a diff: %v", d)
	}
}
