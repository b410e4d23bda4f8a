package commandprovider

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"google.golang.org/protobuf/types/known/structpb"

	"github.com/pulumi/pulumi/sdk/v3/go/common/diag"
	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
	pulumirpc "github.com/pulumi/pulumi/sdk/v3/proto/go"

	"platform.local/engine/toolchain/internal/provutil"
)

const urn = "urn:pulumi:dev::proj::command:local:Command::cmd"

type recLog struct {
	mu    sync.Mutex
	lines []string
}

func (r *recLog) LogStatus(_ context.Context, _ diag.Severity, _ resource.URN, msg string) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.lines = append(r.lines, msg)
	return nil
}

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

func props(kv map[string]any) resource.PropertyMap { return resource.NewPropertyMapFromMap(kv) }

func create(t *testing.T, p *Provider, ins resource.PropertyMap, preview bool) (string, resource.PropertyMap, error) {
	t.Helper()
	res, err := p.Create(context.Background(), &pulumirpc.CreateRequest{
		Urn: urn, Type: CommandType, Name: "cmd", Properties: marshal(t, ins), Preview: preview,
	})
	if err != nil {
		return "", nil, err
	}
	return res.Id, unmarshal(t, res.Properties), nil
}

func update(t *testing.T, p *Provider, olds, news resource.PropertyMap, preview bool) (resource.PropertyMap, error) {
	t.Helper()
	res, err := p.Update(context.Background(), &pulumirpc.UpdateRequest{
		Urn: urn, Type: CommandType, Id: "cmd1", Olds: marshal(t, olds), News: marshal(t, news), Preview: preview,
	})
	if err != nil {
		return nil, err
	}
	return unmarshal(t, res.Properties), nil
}

func diff(t *testing.T, p *Provider, olds, news resource.PropertyMap) *pulumirpc.DiffResponse {
	t.Helper()
	res, err := p.Diff(context.Background(), &pulumirpc.DiffRequest{
		Urn: urn, Type: CommandType, Id: "cmd1", Olds: marshal(t, olds), News: marshal(t, news),
	})
	if err != nil {
		t.Fatal(err)
	}
	return res
}

func TestCreateUpdateDeleteRun(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	log := &recLog{}
	p := New(log)
	ins := props(map[string]any{
		"create":      "echo created > created.txt; echo out; echo err >&2",
		"update":      `echo "updated after [$PULUMI_COMMAND_STDOUT]" > updated.txt; echo out2`,
		"delete":      `echo "deleted after [$PULUMI_COMMAND_STDOUT]" > deleted.txt`,
		"dir":         dir,
		"environment": map[string]any{"GREETING": "hi"},
	})
	id, state, err := create(t, p, ins, false)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(id, "cmd") || state["stdout"].StringValue() != "out" || state["stderr"].StringValue() != "err" {
		t.Fatalf("create: id %q state %v", id, state)
	}
	if b, _ := os.ReadFile(filepath.Join(dir, "created.txt")); string(b) != "created\n" {
		t.Fatalf("create did not run in dir: %q", b)
	}
	if strings.Join(log.lines, ",") != "out,err" && strings.Join(log.lines, ",") != "err,out" {
		t.Fatalf("output not logged: %v", log.lines)
	}

	news := ins.Copy()
	news["environment"] = resource.NewObjectProperty(props(map[string]any{"GREETING": "hello"}))
	if d := diff(t, p, state, news); d.Changes != pulumirpc.DiffResponse_DIFF_SOME || len(d.Replaces) != 0 {
		t.Fatalf("environment change must be an in-place update: %v", d)
	}
	state2, err := update(t, p, state, news, false)
	if err != nil {
		t.Fatal(err)
	}
	if state2["stdout"].StringValue() != "out2" {
		t.Fatalf("update stdout = %v", state2["stdout"])
	}
	if b, _ := os.ReadFile(filepath.Join(dir, "updated.txt")); string(b) != "updated after [out]\n" {
		t.Fatalf("update did not run with the previous stdout: %q", b)
	}

	if _, err := p.Delete(context.Background(), &pulumirpc.DeleteRequest{
		Urn: urn, Type: CommandType, Id: id, Properties: marshal(t, state2),
	}); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(filepath.Join(dir, "deleted.txt")); string(b) != "deleted after [out2]\n" {
		t.Fatalf("delete did not run: %q", b)
	}
}

func TestUpdateFallsBackToCreate(t *testing.T) {
	t.Parallel()
	p := New(nil)
	olds := props(map[string]any{"create": "echo one", "stdout": "one", "stderr": ""})
	state, err := update(t, p, olds, props(map[string]any{"create": "echo two"}), false)
	if err != nil {
		t.Fatal(err)
	}
	if state["stdout"].StringValue() != "two" {
		t.Fatalf("stdout = %v", state["stdout"])
	}
}

func TestEnvironmentAndInterpreter(t *testing.T) {
	t.Parallel()
	p := New(nil)
	_, state, err := create(t, p, props(map[string]any{
		"create":      `printf '%s|%s' "$FOO" "$BAR"`,
		"environment": map[string]any{"FOO": "foo value", "BAR": "bar"},
	}), false)
	if err != nil {
		t.Fatal(err)
	}
	if got := state["stdout"].StringValue(); got != "foo value|bar" {
		t.Fatalf("stdout = %q", got)
	}
	_, state, err = create(t, p, props(map[string]any{
		"create":      "print('from', 'interp')",
		"interpreter": []any{"/bin/sh", "-c", `echo "$0"`},
	}), false)
	if err != nil {
		t.Fatal(err)
	}
	if got := state["stdout"].StringValue(); got != "print('from', 'interp')" {
		t.Fatalf("interpreter not used: %q", got)
	}
}

func TestTriggersReplaceOtherChangesUpdate(t *testing.T) {
	t.Parallel()
	p := New(nil)
	olds := props(map[string]any{"create": "true", "triggers": []any{"a", 1}, "stdout": "", "stderr": ""})
	same := props(map[string]any{"create": "true", "triggers": []any{"a", 1}})
	if d := diff(t, p, olds, same); d.Changes != pulumirpc.DiffResponse_DIFF_NONE {
		t.Fatalf("no change: %v", d)
	}
	trig := props(map[string]any{"create": "true", "triggers": []any{"a", 2}})
	d := diff(t, p, olds, trig)
	if len(d.Replaces) != 1 || d.Replaces[0] != "triggers" ||
		d.DetailedDiff["triggers"].Kind != pulumirpc.PropertyDiff_UPDATE_REPLACE {
		t.Fatalf("triggers change must replace: %v", d)
	}
	unknown := same.Copy()
	unknown["triggers"] = resource.NewArrayProperty([]resource.PropertyValue{
		resource.MakeComputed(resource.NewStringProperty("")),
	})
	if d := diff(t, p, olds, unknown); len(d.Replaces) != 1 {
		t.Fatalf("unknown trigger must replace: %v", d)
	}
	for _, news := range []resource.PropertyMap{
		props(map[string]any{"create": "false", "triggers": []any{"a", 1}}),
		props(map[string]any{"create": "true", "triggers": []any{"a", 1}, "dir": "/tmp"}),
		props(map[string]any{"create": "true", "triggers": []any{"a", 1}, "delete": "true"}),
	} {
		if d := diff(t, p, olds, news); d.Changes != pulumirpc.DiffResponse_DIFF_SOME || len(d.Replaces) != 0 {
			t.Fatalf("non-trigger change must update in place: %v", d)
		}
	}
}

func TestFailingCommandErrorsWithStderr(t *testing.T) {
	t.Parallel()
	p := New(nil)
	_, _, err := create(t, p, props(map[string]any{"create": "echo partial; echo boom-detail >&2; exit 3"}), false)
	if err == nil || !strings.Contains(err.Error(), "boom-detail") || !strings.Contains(err.Error(), "exit status 3") {
		t.Fatalf("want an error with stderr and exit status, got %v", err)
	}
	if _, err := p.Delete(context.Background(), &pulumirpc.DeleteRequest{
		Urn: urn, Type: CommandType, Id: "x", Properties: marshal(t, props(map[string]any{"delete": "echo nope >&2; false"})),
	}); err == nil || !strings.Contains(err.Error(), "nope") {
		t.Fatalf("failing delete: %v", err)
	}
}

func TestPreviewRunsNothing(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	p := New(nil)
	ins := props(map[string]any{"create": "touch ran", "update": "touch ran", "dir": dir})
	_, state, err := create(t, p, ins, true)
	if err != nil {
		t.Fatal(err)
	}
	if !state["stdout"].IsComputed() || !state["stderr"].IsComputed() {
		t.Fatalf("preview outputs must be unknown: %v", state)
	}
	olds := ins.Copy()
	olds["stdout"], olds["stderr"] = resource.NewStringProperty(""), resource.NewStringProperty("")
	news := ins.Copy()
	news["environment"] = resource.NewObjectProperty(props(map[string]any{"A": "b"}))
	state, err = update(t, p, olds, news, true)
	if err != nil {
		t.Fatal(err)
	}
	if !state["stdout"].IsComputed() {
		t.Fatalf("preview update outputs must be unknown: %v", state)
	}
	if _, err := os.Stat(filepath.Join(dir, "ran")); !os.IsNotExist(err) {
		t.Fatal("a command ran during preview")
	}
}

func TestSecretInputsMakeOutputsSecret(t *testing.T) {
	t.Parallel()
	p := New(nil)
	ins := props(map[string]any{"create": `printf %s "$TOKEN"`})
	ins["environment"] = resource.NewObjectProperty(resource.PropertyMap{
		"TOKEN": resource.MakeSecret(resource.NewStringProperty("hunter2")),
	})
	_, state, err := create(t, p, ins, false)
	if err != nil {
		t.Fatal(err)
	}
	if !state["stdout"].IsSecret() || state["stdout"].SecretValue().Element.StringValue() != "hunter2" {
		t.Fatalf("stdout must be a secret holding the value: %v", state["stdout"])
	}
	if !state["stderr"].IsSecret() || !state["environment"].ObjectValue()["TOKEN"].IsSecret() {
		t.Fatalf("secrets lost: %v", state)
	}
	_, plain, err := create(t, p, props(map[string]any{"create": "echo hi"}), false)
	if err != nil {
		t.Fatal(err)
	}
	if plain["stdout"].IsSecret() {
		t.Fatal("stdout must not be secret without secret inputs")
	}
}

func TestCheckRejectsUnknownKeysAndTypes(t *testing.T) {
	t.Parallel()
	p := New(nil)
	for prop, news := range map[string]resource.PropertyMap{
		"crate":       props(map[string]any{"crate": "echo"}),
		"interpreter": props(map[string]any{"create": "x", "interpreter": "bash"}),
		"logging":     props(map[string]any{"create": "x", "logging": "loud"}),
		"assetPaths":  props(map[string]any{"create": "x", "assetPaths": []any{"*"}}),
	} {
		res, err := p.Check(context.Background(), &pulumirpc.CheckRequest{Urn: urn, Type: CommandType, News: marshal(t, news)})
		if err != nil {
			t.Fatal(err)
		}
		if len(res.Failures) != 1 || res.Failures[0].Property != prop {
			t.Fatalf("%s: failures %v", prop, res.Failures)
		}
	}
	res, err := p.Check(context.Background(), &pulumirpc.CheckRequest{
		Urn: urn, Type: CommandType, News: marshal(t, props(map[string]any{"create": "x", "triggers": []any{1}})),
	})
	if err != nil || len(res.Failures) != 0 {
		t.Fatalf("valid inputs: %v %v", res, err)
	}
	if _, err := p.Check(context.Background(), &pulumirpc.CheckRequest{
		Urn: "urn:pulumi:dev::proj::command:remote:Command::c", News: marshal(t, props(map[string]any{})),
	}); err == nil || !strings.Contains(err.Error(), "command:remote:Command") {
		t.Fatalf("unknown type: %v", err)
	}
}
