package provutil

import (
	"testing"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
	pulumirpc "github.com/pulumi/pulumi/sdk/v3/proto/go"
)

func TestChangedKeysAndDiff(t *testing.T) {
	t.Parallel()
	olds := resource.NewPropertyMapFromMap(map[string]any{"a": "x", "b": 1, "c": []any{"t"}, "gone": true})
	news := resource.NewPropertyMapFromMap(map[string]any{"a": "x", "b": 2, "c": []any{"t"}, "added": "y"})
	news["a"] = resource.MakeSecret(news["a"]) // becoming secret is not a change
	changed := ChangedKeys(olds, news, []string{"a", "b", "c", "gone", "added", "absent"})
	if len(changed) != 3 || changed[0] != "b" || changed[1] != "gone" || changed[2] != "added" {
		t.Fatalf("changed = %v", changed)
	}
	d := DiffResponse(olds, news, changed, false, "gone")
	if d.Changes != pulumirpc.DiffResponse_DIFF_SOME || len(d.Replaces) != 1 ||
		d.DetailedDiff["b"].Kind != pulumirpc.PropertyDiff_UPDATE ||
		d.DetailedDiff["gone"].Kind != pulumirpc.PropertyDiff_DELETE_REPLACE ||
		d.DetailedDiff["added"].Kind != pulumirpc.PropertyDiff_ADD {
		t.Fatalf("diff = %v", d)
	}
	if d := DiffResponse(olds, olds, nil, true); d.Changes != pulumirpc.DiffResponse_DIFF_NONE {
		t.Fatalf("no changes: %v", d)
	}
}

func TestMarshalKeepsSecretsAndUnknowns(t *testing.T) {
	t.Parallel()
	m := resource.PropertyMap{
		"s": resource.MakeSecret(resource.NewStringProperty("x")),
		"u": resource.MakeComputed(resource.NewStringProperty("")),
	}
	s, err := Marshal(m, "t")
	if err != nil {
		t.Fatal(err)
	}
	back, err := Unmarshal(s, "t")
	if err != nil {
		t.Fatal(err)
	}
	if !back["s"].IsSecret() || !back["u"].IsComputed() {
		t.Fatalf("round trip lost secret/unknown: %v", back)
	}
	if Unsecret(back["s"]).StringValue() != "x" || !IsUnknown(resource.MakeSecret(back["u"])) {
		t.Fatal("Unsecret/IsUnknown")
	}
	if f := UnknownKeys("t:index:T", resource.NewPropertyMapFromMap(map[string]any{"ok": 1, "bad": 2, "__x": 3}),
		[]string{"ok"}); len(f) != 1 || f[0].Property != "bad" {
		t.Fatalf("UnknownKeys = %v", f)
	}
}
