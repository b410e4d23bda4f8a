// Package provutil holds the small amount of plumbing shared by this repo's native resource providers
// (pulumi-resource-random, pulumi-resource-command): property (un)marshalling that keeps secrets and unknowns,
// input-key validation, input diffing and the provider-level RPCs (config, plugin info) that both answer the same way.
package provutil

import (
	"context"
	"fmt"
	"slices"
	"sort"
	"strings"

	"google.golang.org/protobuf/types/known/emptypb"
	"google.golang.org/protobuf/types/known/structpb"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
	"github.com/pulumi/pulumi/sdk/v3/go/common/resource/plugin"
	pulumirpc "github.com/pulumi/pulumi/sdk/v3/proto/go"
)

// Unmarshal decodes an RPC property struct, keeping secrets and unknowns so they can be round-tripped.
func Unmarshal(s *structpb.Struct, label string) (resource.PropertyMap, error) {
	if s == nil {
		return resource.PropertyMap{}, nil
	}
	return plugin.UnmarshalProperties(s, plugin.MarshalOptions{
		Label: label, KeepUnknowns: true, KeepSecrets: true, SkipNulls: true,
	})
}

// Marshal encodes a property map for an RPC response, keeping secrets and unknowns.
func Marshal(m resource.PropertyMap, label string) (*structpb.Struct, error) {
	return plugin.MarshalProperties(m, plugin.MarshalOptions{
		Label: label, KeepUnknowns: true, KeepSecrets: true, SkipNulls: true,
	})
}

// Unsecret returns v with every secret wrapper removed (recursively).
func Unsecret(v resource.PropertyValue) resource.PropertyValue {
	switch {
	case v.IsSecret():
		return Unsecret(v.SecretValue().Element)
	case v.IsArray():
		arr := make([]resource.PropertyValue, len(v.ArrayValue()))
		for i, e := range v.ArrayValue() {
			arr[i] = Unsecret(e)
		}
		return resource.NewArrayProperty(arr)
	case v.IsObject():
		return resource.NewObjectProperty(UnsecretMap(v.ObjectValue()))
	case v.IsOutput():
		o := v.OutputValue()
		if !o.Known {
			return resource.MakeComputed(resource.NewStringProperty(""))
		}
		return Unsecret(o.Element)
	}
	return v
}

// UnsecretMap returns m with every secret wrapper removed (recursively).
func UnsecretMap(m resource.PropertyMap) resource.PropertyMap {
	out := make(resource.PropertyMap, len(m))
	for k, v := range m {
		out[k] = Unsecret(v)
	}
	return out
}

// IsUnknown reports whether v is (or, for secrets and outputs, wraps) an unknown value.
func IsUnknown(v resource.PropertyValue) bool {
	return Unsecret(v).IsComputed()
}

// UnknownKeys returns CheckFailures for every key of news that is not in allowed (internal "__" keys are ignored).
func UnknownKeys(typ string, news resource.PropertyMap, allowed []string) []*pulumirpc.CheckFailure {
	var failures []*pulumirpc.CheckFailure
	for _, k := range news.StableKeys() {
		if strings.HasPrefix(string(k), "__") || slices.Contains(allowed, string(k)) {
			continue
		}
		failures = append(failures, &pulumirpc.CheckFailure{
			Property: string(k),
			Reason: fmt.Sprintf("unknown property %q for %s; supported inputs: %s",
				string(k), typ, strings.Join(allowed, ", ")),
		})
	}
	return failures
}

// present reports whether key holds a value (missing and null count as absent).
func present(m resource.PropertyMap, key string) bool {
	v, ok := m[resource.PropertyKey(key)]
	return ok && !v.IsNull()
}

// ChangedKeys returns, in the order of keys, those whose values differ between olds and news. Secretness alone is
// not a change; a new value that is (or contains) an unknown counts as a change.
func ChangedKeys(olds, news resource.PropertyMap, keys []string) []string {
	var changed []string
	for _, k := range keys {
		pk := resource.PropertyKey(k)
		oldHas, newHas := present(olds, k), present(news, k)
		switch {
		case !oldHas && !newHas:
			continue
		case oldHas != newHas:
			changed = append(changed, k)
		case news[pk].ContainsUnknowns():
			changed = append(changed, k)
		case !Unsecret(olds[pk]).DeepEquals(Unsecret(news[pk])):
			changed = append(changed, k)
		}
	}
	return changed
}

// DiffResponse builds a detailed DiffResponse for the changed keys; keys in replaceKeys (or all keys, when
// replaceAll is set) are reported as replacements.
func DiffResponse(olds, news resource.PropertyMap, changed []string, replaceAll bool, replaceKeys ...string,
) *pulumirpc.DiffResponse {
	if len(changed) == 0 {
		return &pulumirpc.DiffResponse{Changes: pulumirpc.DiffResponse_DIFF_NONE}
	}
	detailed := map[string]*pulumirpc.PropertyDiff{}
	var replaces []string
	for _, k := range changed {
		replace := replaceAll || slices.Contains(replaceKeys, k)
		kind := pulumirpc.PropertyDiff_UPDATE
		switch {
		case !present(olds, k):
			kind = pulumirpc.PropertyDiff_ADD
		case !present(news, k):
			kind = pulumirpc.PropertyDiff_DELETE
		}
		if replace {
			kind++ // every *_REPLACE kind directly follows its plain kind
			replaces = append(replaces, k)
		}
		detailed[k] = &pulumirpc.PropertyDiff{Kind: kind, InputDiff: true}
	}
	sort.Strings(replaces)
	return &pulumirpc.DiffResponse{
		Changes:         pulumirpc.DiffResponse_DIFF_SOME,
		Diffs:           changed,
		Replaces:        replaces,
		DetailedDiff:    detailed,
		HasDetailedDiff: true,
	}
}

// Failure is a convenience constructor for a CheckFailure.
func Failure(prop, format string, args ...any) *pulumirpc.CheckFailure {
	return &pulumirpc.CheckFailure{Property: prop, Reason: fmt.Sprintf(format, args...)}
}

// Base implements the provider-level RPCs shared by this repo's providers: they take no configuration, accept
// secrets and support preview. Embed it and implement the resource RPCs.
type Base struct {
	pulumirpc.UnimplementedResourceProviderServer
	Name    string // package name, e.g. "random"
	Version string // reported plugin version, e.g. "4.21.1"
}

// GetPluginInfo reports the provider version.
func (b *Base) GetPluginInfo(context.Context, *emptypb.Empty) (*pulumirpc.PluginInfo, error) {
	return &pulumirpc.PluginInfo{Version: b.Version}, nil
}

// GetSchema returns a minimal schema naming the package and version (the full schema is in the npm package).
func (b *Base) GetSchema(context.Context, *pulumirpc.GetSchemaRequest) (*pulumirpc.GetSchemaResponse, error) {
	return &pulumirpc.GetSchemaResponse{
		Schema: fmt.Sprintf(`{"name":%q,"version":%q}`, b.Name, b.Version),
	}, nil
}

// CheckConfig accepts any provider configuration as-is (neither provider has settings that need validating).
func (b *Base) CheckConfig(_ context.Context, req *pulumirpc.CheckRequest) (*pulumirpc.CheckResponse, error) {
	return &pulumirpc.CheckResponse{Inputs: req.GetNews()}, nil
}

// DiffConfig reports a plain update (never a replacement) when the provider configuration changes, ignoring the
// engine-managed "version" key.
func (b *Base) DiffConfig(_ context.Context, req *pulumirpc.DiffRequest) (*pulumirpc.DiffResponse, error) {
	olds, err := Unmarshal(req.GetOldInputs(), "olds")
	if err != nil {
		return nil, err
	}
	if len(olds) == 0 {
		if olds, err = Unmarshal(req.GetOlds(), "olds"); err != nil {
			return nil, err
		}
	}
	news, err := Unmarshal(req.GetNews(), "news")
	if err != nil {
		return nil, err
	}
	keys := map[string]bool{}
	for k := range olds {
		keys[string(k)] = true
	}
	for k := range news {
		keys[string(k)] = true
	}
	var all []string
	for k := range keys {
		if k != "version" && !strings.HasPrefix(k, "__") {
			all = append(all, k)
		}
	}
	sort.Strings(all)
	return DiffResponse(olds, news, ChangedKeys(olds, news, all), false), nil
}

// Configure accepts secrets and previews.
func (b *Base) Configure(context.Context, *pulumirpc.ConfigureRequest) (*pulumirpc.ConfigureResponse, error) {
	return &pulumirpc.ConfigureResponse{AcceptSecrets: true, SupportsPreview: true}, nil
}

// Cancel has nothing to cancel beyond in-flight requests, which end with their contexts.
func (b *Base) Cancel(context.Context, *emptypb.Empty) (*emptypb.Empty, error) {
	return &emptypb.Empty{}, nil
}

// CheckType returns an error unless the request's resource type (taken from typ, or from the URN when the engine
// leaves typ empty) is want.
func CheckType(typ, urn, want string) error {
	if typ == "" && urn != "" {
		typ = string(resource.URN(urn).Type())
	}
	if typ != want {
		return fmt.Errorf("unknown resource type %q: this provider implements only %s", typ, want)
	}
	return nil
}
