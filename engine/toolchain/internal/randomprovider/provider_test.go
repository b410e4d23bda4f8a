package randomprovider

import (
	"context"
	"strings"
	"testing"

	"golang.org/x/crypto/bcrypt"
	"google.golang.org/protobuf/types/known/emptypb"
	"google.golang.org/protobuf/types/known/structpb"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
	pulumirpc "github.com/pulumi/pulumi/sdk/v3/proto/go"

	"platform.local/engine/toolchain/internal/provutil"
)

const urn = "urn:pulumi:dev::proj::random:index/randomPassword:RandomPassword::pw"

func marshal(t *testing.T, m resource.PropertyMap) *structpb.Struct {
	t.Helper()
	s, err := provutil.Marshal(m, "test")
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func unmarshal(t *testing.T, s *structpb.Struct) resource.PropertyMap {
	t.Helper()
	m, err := provutil.Unmarshal(s, "test")
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func inputs(kv map[string]any) resource.PropertyMap { return resource.NewPropertyMapFromMap(kv) }

// check runs Check and fails the test on failures.
func check(t *testing.T, p *Provider, news resource.PropertyMap) resource.PropertyMap {
	t.Helper()
	res, err := p.Check(context.Background(), &pulumirpc.CheckRequest{
		Urn: urn, Type: PasswordType, News: marshal(t, news),
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Failures) > 0 {
		t.Fatalf("unexpected check failures: %v", res.Failures)
	}
	return unmarshal(t, res.Inputs)
}

func create(t *testing.T, p *Provider, ins resource.PropertyMap, preview bool) resource.PropertyMap {
	t.Helper()
	res, err := p.Create(context.Background(), &pulumirpc.CreateRequest{
		Urn: urn, Type: PasswordType, Properties: marshal(t, ins), Preview: preview,
	})
	if err != nil {
		t.Fatal(err)
	}
	if res.Id != "none" {
		t.Fatalf("id = %q, want none", res.Id)
	}
	return unmarshal(t, res.Properties)
}

func result(t *testing.T, state resource.PropertyMap) string {
	t.Helper()
	v := state["result"]
	if !v.IsSecret() {
		t.Fatalf("result is not a secret: %v", v)
	}
	return v.SecretValue().Element.StringValue()
}

func count(s, set string) int {
	n := 0
	for _, c := range s {
		if strings.ContainsRune(set, c) {
			n++
		}
	}
	return n
}

func TestGenerateLengthAndClasses(t *testing.T) {
	t.Parallel()
	for i := 0; i < 50; i++ {
		pw, err := Generate(Params{Length: 24, Lower: true, Numeric: true})
		if err != nil {
			t.Fatal(err)
		}
		if len(pw) != 24 {
			t.Fatalf("len(%q) = %d", pw, len(pw))
		}
		if count(pw, lowerChars+numChars) != 24 {
			t.Fatalf("%q has characters outside lower+numeric", pw)
		}
	}
	pw, err := Generate(Params{Length: 30, Special: true, OverrideSpecial: "_%"})
	if err != nil {
		t.Fatal(err)
	}
	if count(pw, "_%") != 30 {
		t.Fatalf("%q: overrideSpecial not honoured", pw)
	}
	if _, err := Generate(Params{Length: 8}); err == nil {
		t.Fatal("empty character set must fail")
	}
}

func TestGenerateMinimums(t *testing.T) {
	t.Parallel()
	for i := 0; i < 50; i++ {
		pw, err := Generate(Params{
			Length: 12, Lower: true, MinUpper: 3, MinNumeric: 2, MinSpecial: 4, MinLower: 1,
		})
		if err != nil {
			t.Fatal(err)
		}
		if len(pw) != 12 || count(pw, upperChars) < 3 || count(pw, numChars) < 2 ||
			count(pw, defaultSpecial) < 4 || count(pw, lowerChars) < 1 {
			t.Fatalf("%q does not honour the minimums", pw)
		}
	}
	if _, err := Generate(Params{Length: 3, Lower: true, MinUpper: 2, MinLower: 2}); err == nil {
		t.Fatal("length below the sum of minimums must fail")
	}
}

func TestCheckDefaultsAndValidation(t *testing.T) {
	t.Parallel()
	p := New()
	got := check(t, p, inputs(map[string]any{"length": 16, "number": false}))
	for k, want := range map[string]any{
		"special": true, "upper": true, "lower": true, "numeric": false, "number": false,
		"minUpper": 0.0, "minLower": 0.0, "minNumeric": 0.0, "minSpecial": 0.0,
	} {
		if got[resource.PropertyKey(k)].V != want {
			t.Errorf("%s = %v, want %v", k, got[resource.PropertyKey(k)].V, want)
		}
	}

	for name, tc := range map[string]struct {
		news resource.PropertyMap
		prop string
	}{
		"unknown key":     {inputs(map[string]any{"length": 8, "lenght": 8}), "lenght"},
		"missing length":  {inputs(map[string]any{"special": true}), "length"},
		"zero length":     {inputs(map[string]any{"length": 0}), "length"},
		"sum of mins":     {inputs(map[string]any{"length": 4, "minUpper": 3, "minLower": 3}), "length"},
		"bad bool":        {inputs(map[string]any{"length": 8, "upper": "yes"}), "upper"},
		"number/numeric":  {inputs(map[string]any{"length": 8, "number": true, "numeric": false}), "number"},
		"fractional mins": {inputs(map[string]any{"length": 8, "minUpper": 1.5}), "minUpper"},
	} {
		res, err := p.Check(context.Background(), &pulumirpc.CheckRequest{
			Urn: urn, Type: PasswordType, News: marshal(t, tc.news),
		})
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		found := false
		for _, f := range res.Failures {
			found = found || f.Property == tc.prop
		}
		if !found {
			t.Errorf("%s: want a failure on %q, got %v", name, tc.prop, res.Failures)
		}
	}
}

func TestUnknownTypeIsAnError(t *testing.T) {
	t.Parallel()
	_, err := New().Check(context.Background(), &pulumirpc.CheckRequest{
		Urn:  "urn:pulumi:dev::proj::random:index/randomString:RandomString::s",
		News: marshal(t, inputs(map[string]any{"length": 8})),
	})
	if err == nil || !strings.Contains(err.Error(), "random:index/randomString:RandomString") {
		t.Fatalf("want an unknown type error, got %v", err)
	}
}

func TestCreateResultIsSecretAndHashed(t *testing.T) {
	t.Parallel()
	p := New()
	ins := check(t, p, inputs(map[string]any{"length": 20, "special": false, "minNumeric": 5}))
	state := create(t, p, ins, false)
	pw := result(t, state)
	if len(pw) != 20 || count(pw, defaultSpecial) != 0 || count(pw, numChars) < 5 {
		t.Fatalf("result %q does not honour the inputs", pw)
	}
	hash := state["bcryptHash"]
	if !hash.IsSecret() {
		t.Fatal("bcryptHash is not a secret")
	}
	if err := bcrypt.CompareHashAndPassword([]byte(hash.SecretValue().Element.StringValue()), []byte(pw)); err != nil {
		t.Fatalf("bcryptHash does not match result: %v", err)
	}
	if state["length"].NumberValue() != 20 {
		t.Fatal("inputs are not part of the state")
	}

	// The marshalled response carries the secret signature, so the engine keeps it secret.
	res, err := p.Create(context.Background(), &pulumirpc.CreateRequest{
		Urn: urn, Type: PasswordType, Properties: marshal(t, ins),
	})
	if err != nil {
		t.Fatal(err)
	}
	if sig := res.Properties.Fields["result"].GetStructValue().GetFields()[resource.SigKey].GetStringValue(); sig != resource.SecretSig {
		t.Fatalf("result is not marshalled as a secret: %v", res.Properties.Fields["result"])
	}
}

func TestPreviewLeavesResultUnknown(t *testing.T) {
	t.Parallel()
	p := New()
	state := create(t, p, check(t, p, inputs(map[string]any{"length": 8})), true)
	if !state["result"].IsSecret() || !state["result"].SecretValue().Element.IsComputed() {
		t.Fatalf("preview result = %v, want an unknown secret", state["result"])
	}
}

func TestSecretInputsStaySecret(t *testing.T) {
	t.Parallel()
	p := New()
	news := inputs(map[string]any{"length": 8})
	news["keepers"] = resource.NewObjectProperty(resource.PropertyMap{
		"k": resource.MakeSecret(resource.NewStringProperty("s3cret")),
	})
	state := create(t, p, check(t, p, news), false)
	if !state["keepers"].ObjectValue()["k"].IsSecret() {
		t.Fatal("secret keeper lost its secretness")
	}
}

func TestAnyInputChangeReplaces(t *testing.T) {
	t.Parallel()
	p := New()
	base := map[string]any{"length": 16, "keepers": map[string]any{"rotate": "1"}}
	olds := create(t, p, check(t, p, inputs(base)), false)

	diff := func(news resource.PropertyMap) *pulumirpc.DiffResponse {
		res, err := p.Diff(context.Background(), &pulumirpc.DiffRequest{
			Urn: urn, Type: PasswordType, Id: "none", Olds: marshal(t, olds), News: marshal(t, news),
		})
		if err != nil {
			t.Fatal(err)
		}
		return res
	}

	if res := diff(check(t, p, inputs(base))); res.Changes != pulumirpc.DiffResponse_DIFF_NONE {
		t.Fatalf("unchanged inputs: %v", res)
	}
	// Spelling out a default is not a change.
	if res := diff(check(t, p, inputs(map[string]any{
		"length": 16, "keepers": map[string]any{"rotate": "1"}, "special": true,
	}))); res.Changes != pulumirpc.DiffResponse_DIFF_NONE {
		t.Fatalf("explicit default: %v", res)
	}
	for key, val := range map[string]any{
		"length": 17, "special": false, "upper": false, "lower": false, "numeric": false, "number": false,
		"minUpper": 1, "minLower": 1, "minNumeric": 1, "minSpecial": 1, "overrideSpecial": "#",
		"keepers": map[string]any{"rotate": "2"},
	} {
		changed := map[string]any{}
		for k, v := range base {
			changed[k] = v
		}
		changed[key] = val
		res := diff(check(t, p, inputs(changed)))
		if res.Changes != pulumirpc.DiffResponse_DIFF_SOME || len(res.Replaces) == 0 {
			t.Fatalf("%s change: want a replace, got %v", key, res)
		}
		for _, r := range res.Replaces {
			k := res.DetailedDiff[r].Kind
			if k != pulumirpc.PropertyDiff_UPDATE_REPLACE && k != pulumirpc.PropertyDiff_ADD_REPLACE &&
				k != pulumirpc.PropertyDiff_DELETE_REPLACE {
				t.Fatalf("%s change: detailed diff kind %v is not a replace", key, k)
			}
		}
	}
	// An unknown new value is a (replacing) change too.
	unknown := check(t, p, inputs(base))
	unknown["length"] = resource.MakeComputed(resource.NewStringProperty(""))
	if res := diff(unknown); len(res.Replaces) != 1 || res.Replaces[0] != "length" {
		t.Fatalf("unknown length: %v", res)
	}
}

func TestReadImportAndPluginInfo(t *testing.T) {
	t.Parallel()
	p := New()
	res, err := p.Read(context.Background(), &pulumirpc.ReadRequest{Urn: urn, Type: PasswordType, Id: "Imported-pw1"})
	if err != nil {
		t.Fatal(err)
	}
	state := unmarshal(t, res.Properties)
	if result(t, state) != "Imported-pw1" || state["length"].NumberValue() != 12 || res.Id != "none" {
		t.Fatalf("import read: %v", state)
	}
	info, err := p.GetPluginInfo(context.Background(), &emptypb.Empty{})
	if err != nil || info.Version != "4.21.1" {
		t.Fatalf("plugin info %v %v", info, err)
	}
	conf, err := p.Configure(context.Background(), &pulumirpc.ConfigureRequest{})
	if err != nil || !conf.AcceptSecrets || !conf.SupportsPreview {
		t.Fatalf("configure %v %v", conf, err)
	}
}
