// Package randomprovider implements random:index/randomPassword:RandomPassword natively, with the inputs, defaults
// and behaviour of @pulumi/random 4.21.1 (a bridge of terraform-provider-random): every input forces replacement,
// the id is "none", and result and bcryptHash are secrets.
package randomprovider

import (
	"context"
	"errors"
	"fmt"

	"google.golang.org/protobuf/types/known/emptypb"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
	pulumirpc "github.com/pulumi/pulumi/sdk/v3/proto/go"

	"platform.local/engine/toolchain/internal/provutil"
)

const (
	// Version is the @pulumi/random release whose provider this one stands in for.
	Version = "4.21.1"
	// PasswordType is the only resource type implemented.
	PasswordType = "random:index/randomPassword:RandomPassword"
	passwordID   = "none"
)

// inputKeys are RandomPassword's inputs (randomPassword.d.ts); all of them force replacement, as in upstream.
var inputKeys = []string{
	"keepers", "length", "lower", "minLower", "minNumeric", "minSpecial", "minUpper",
	"number", "numeric", "overrideSpecial", "special", "upper",
}

var (
	boolKeys = []string{"lower", "number", "numeric", "special", "upper"}
	intKeys  = []string{"minLower", "minNumeric", "minSpecial", "minUpper"}
)

// Provider is the RandomPassword resource provider.
type Provider struct {
	provutil.Base
}

// New returns the provider.
func New() *Provider {
	return &Provider{Base: provutil.Base{Name: "random", Version: Version}}
}

// Check validates the inputs and fills in upstream's defaults (booleans true, minimums 0, number = numeric).
func (p *Provider) Check(_ context.Context, req *pulumirpc.CheckRequest) (*pulumirpc.CheckResponse, error) {
	if err := provutil.CheckType(req.GetType(), req.GetUrn(), PasswordType); err != nil {
		return nil, err
	}
	news, err := provutil.Unmarshal(req.GetNews(), "news")
	if err != nil {
		return nil, err
	}
	failures := provutil.UnknownKeys(PasswordType, news, inputKeys)
	failures = append(failures, validate(news)...)
	if len(failures) > 0 {
		return &pulumirpc.CheckResponse{Failures: failures}, nil
	}
	applyDefaults(news)
	inputs, err := provutil.Marshal(news, "inputs")
	if err != nil {
		return nil, err
	}
	return &pulumirpc.CheckResponse{Inputs: inputs}, nil
}

func validate(news resource.PropertyMap) []*pulumirpc.CheckFailure {
	var failures []*pulumirpc.CheckFailure
	get := func(k string) (resource.PropertyValue, bool) {
		v, ok := news[resource.PropertyKey(k)]
		if !ok || v.IsNull() {
			return v, false
		}
		v = provutil.Unsecret(v)
		return v, !v.IsComputed()
	}
	if _, ok := news["length"]; !ok {
		failures = append(failures, provutil.Failure("length", "missing required property 'length'"))
	}
	sum, allKnown := int64(0), true
	for _, k := range append([]string{"length"}, intKeys...) {
		v, ok := get(k)
		if !ok {
			if present := news[resource.PropertyKey(k)]; present.ContainsUnknowns() {
				allKnown = false
			}
			continue
		}
		if !v.IsNumber() || v.NumberValue() != float64(int64(v.NumberValue())) {
			failures = append(failures, provutil.Failure(k, "%s must be an integer, got %v", k, v))
			continue
		}
		n := int64(v.NumberValue())
		if n < 0 {
			failures = append(failures, provutil.Failure(k, "%s must not be negative, got %d", k, n))
		}
		if k == "length" && n < 1 {
			failures = append(failures, provutil.Failure(k, "length must be at least 1, got %d", n))
		}
		if k != "length" {
			sum += n
		}
	}
	if l, ok := get("length"); ok && l.IsNumber() && allKnown && int64(l.NumberValue()) < sum {
		failures = append(failures, provutil.Failure("length",
			"length (%d) must be >= minUpper + minLower + minNumeric + minSpecial (%d)", int64(l.NumberValue()), sum))
	}
	for _, k := range boolKeys {
		if v, ok := get(k); ok && !v.IsBool() {
			failures = append(failures, provutil.Failure(k, "%s must be a boolean, got %v", k, v))
		}
	}
	if n, ok := get("number"); ok && n.IsBool() {
		if m, ok := get("numeric"); ok && m.IsBool() && n.BoolValue() != m.BoolValue() {
			failures = append(failures, provutil.Failure("number",
				"number and numeric are both configured with different values; number is deprecated, use numeric"))
		}
	}
	if v, ok := get("overrideSpecial"); ok && !v.IsString() {
		failures = append(failures, provutil.Failure("overrideSpecial", "overrideSpecial must be a string, got %v", v))
	}
	if v, ok := get("keepers"); ok {
		if !v.IsObject() {
			failures = append(failures, provutil.Failure("keepers", "keepers must be a map of strings, got %v", v))
		}
	}
	return failures
}

func applyDefaults(news resource.PropertyMap) {
	set := func(k string, v resource.PropertyValue) {
		if cur, ok := news[resource.PropertyKey(k)]; !ok || cur.IsNull() {
			news[resource.PropertyKey(k)] = v
		}
	}
	// number is the deprecated alias of numeric: whichever is set determines the other.
	if n, ok := news["number"]; ok && !n.IsNull() {
		set("numeric", n)
	} else if m, ok := news["numeric"]; ok && !m.IsNull() {
		set("number", m)
	}
	for _, k := range boolKeys {
		set(k, resource.NewBoolProperty(true))
	}
	for _, k := range intKeys {
		set(k, resource.NewNumberProperty(0))
	}
}

// Diff reports every changed input as a replacement, like upstream's ForceNew attributes.
func (p *Provider) Diff(_ context.Context, req *pulumirpc.DiffRequest) (*pulumirpc.DiffResponse, error) {
	if err := provutil.CheckType(req.GetType(), req.GetUrn(), PasswordType); err != nil {
		return nil, err
	}
	olds, err := provutil.Unmarshal(req.GetOlds(), "olds")
	if err != nil {
		return nil, err
	}
	news, err := provutil.Unmarshal(req.GetNews(), "news")
	if err != nil {
		return nil, err
	}
	changed := provutil.ChangedKeys(olds, news, inputKeys)
	return provutil.DiffResponse(olds, news, changed, true), nil
}

func params(inputs resource.PropertyMap) (Params, error) {
	m := provutil.UnsecretMap(inputs)
	applyDefaults(m)
	if m.ContainsUnknowns() {
		return Params{}, errors.New("inputs contain unknown values")
	}
	num := func(k string) int64 {
		if v := m[resource.PropertyKey(k)]; v.IsNumber() {
			return int64(v.NumberValue())
		}
		return 0
	}
	b := func(k string) bool {
		return m[resource.PropertyKey(k)].IsBool() && m[resource.PropertyKey(k)].BoolValue()
	}
	p := Params{
		Length: num("length"), Upper: b("upper"), Lower: b("lower"), Numeric: b("numeric"), Special: b("special"),
		MinUpper: num("minUpper"), MinLower: num("minLower"), MinNumeric: num("minNumeric"),
		MinSpecial: num("minSpecial"),
	}
	if v := m["overrideSpecial"]; v.IsString() {
		p.OverrideSpecial = v.StringValue()
	}
	return p, nil
}

// outputs returns the inputs plus result and bcryptHash (unknown during preview), both secret.
func outputs(inputs resource.PropertyMap, preview bool) (resource.PropertyMap, error) {
	state := inputs.Copy()
	applyDefaults(state)
	if preview || inputs.ContainsUnknowns() {
		unknown := resource.MakeSecret(resource.MakeComputed(resource.NewStringProperty("")))
		state["result"], state["bcryptHash"] = unknown, unknown
		return state, nil
	}
	p, err := params(inputs)
	if err != nil {
		return nil, err
	}
	result, err := Generate(p)
	if err != nil {
		return nil, err
	}
	hash, err := BcryptHash(result)
	if err != nil {
		return nil, fmt.Errorf("computing bcryptHash: %w", err)
	}
	state["result"] = resource.MakeSecret(resource.NewStringProperty(result))
	state["bcryptHash"] = resource.MakeSecret(resource.NewStringProperty(hash))
	return state, nil
}

// Create generates the password.
func (p *Provider) Create(_ context.Context, req *pulumirpc.CreateRequest) (*pulumirpc.CreateResponse, error) {
	if err := provutil.CheckType(req.GetType(), req.GetUrn(), PasswordType); err != nil {
		return nil, err
	}
	inputs, err := provutil.Unmarshal(req.GetProperties(), "properties")
	if err != nil {
		return nil, err
	}
	state, err := outputs(inputs, req.GetPreview())
	if err != nil {
		return nil, err
	}
	props, err := provutil.Marshal(state, "state")
	if err != nil {
		return nil, err
	}
	return &pulumirpc.CreateResponse{Id: passwordID, Properties: props}, nil
}

// Read returns the recorded state unchanged (there is nothing external to read). With no recorded state, as for
// `pulumi import`, the id is taken to be the password, as upstream's importer does.
func (p *Provider) Read(_ context.Context, req *pulumirpc.ReadRequest) (*pulumirpc.ReadResponse, error) {
	if err := provutil.CheckType(req.GetType(), req.GetUrn(), PasswordType); err != nil {
		return nil, err
	}
	state, err := provutil.Unmarshal(req.GetProperties(), "properties")
	if err != nil {
		return nil, err
	}
	id := req.GetId()
	if len(state) == 0 {
		if id == "" {
			return nil, errors.New("cannot import a RandomPassword without its value as the id")
		}
		hash, err := BcryptHash(id)
		if err != nil {
			return nil, err
		}
		state = resource.PropertyMap{"length": resource.NewNumberProperty(float64(len(id)))}
		applyDefaults(state)
		state["result"] = resource.MakeSecret(resource.NewStringProperty(id))
		state["bcryptHash"] = resource.MakeSecret(resource.NewStringProperty(hash))
		id = passwordID
	}
	inputs := resource.PropertyMap{}
	for _, k := range inputKeys {
		if v, ok := state[resource.PropertyKey(k)]; ok {
			inputs[resource.PropertyKey(k)] = v
		}
	}
	props, err := provutil.Marshal(state, "state")
	if err != nil {
		return nil, err
	}
	ins, err := provutil.Marshal(inputs, "inputs")
	if err != nil {
		return nil, err
	}
	return &pulumirpc.ReadResponse{Id: id, Properties: props, Inputs: ins}, nil
}

// Update is never needed (every change replaces); if the engine calls it anyway, the password is kept.
func (p *Provider) Update(_ context.Context, req *pulumirpc.UpdateRequest) (*pulumirpc.UpdateResponse, error) {
	if err := provutil.CheckType(req.GetType(), req.GetUrn(), PasswordType); err != nil {
		return nil, err
	}
	olds, err := provutil.Unmarshal(req.GetOlds(), "olds")
	if err != nil {
		return nil, err
	}
	news, err := provutil.Unmarshal(req.GetNews(), "news")
	if err != nil {
		return nil, err
	}
	state := news.Copy()
	applyDefaults(state)
	for _, k := range []resource.PropertyKey{"result", "bcryptHash"} {
		if v, ok := olds[k]; ok {
			if !v.IsSecret() {
				v = resource.MakeSecret(v)
			}
			state[k] = v
		}
	}
	props, err := provutil.Marshal(state, "state")
	if err != nil {
		return nil, err
	}
	return &pulumirpc.UpdateResponse{Properties: props}, nil
}

// Delete has nothing to clean up.
func (p *Provider) Delete(_ context.Context, req *pulumirpc.DeleteRequest) (*emptypb.Empty, error) {
	if err := provutil.CheckType(req.GetType(), req.GetUrn(), PasswordType); err != nil {
		return nil, err
	}
	return &emptypb.Empty{}, nil
}
