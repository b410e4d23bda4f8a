package bridge

import (
	"context"
	"fmt"
	"sort"
	"strings"

	"github.com/hashicorp/terraform-plugin-go/tfprotov5"
	"github.com/hashicorp/terraform-plugin-sdk/v2/helper/schema"
	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
	"github.com/pulumi/pulumi/sdk/v3/go/common/resource/plugin"
	pulumirpc "github.com/pulumi/pulumi/sdk/v3/proto/go"
)

// Check validates resource inputs against the Terraform schema and returns them with defaults applied, the
// way the Pulumi Terraform bridge does: unknown or output-only keys and wrongly shaped values are failures,
// the auto-name and Terraform schema defaults are filled in (and listed under "__defaults"), Terraform's own
// validation runs, Sensitive attributes become secrets and secret inputs stay secret.
func (p *Provider) Check(ctx context.Context, req *pulumirpc.CheckRequest) (*pulumirpc.CheckResponse, error) {
	e, err := p.entry(req.GetUrn())
	if err != nil {
		return nil, err
	}
	news, err := plugin.UnmarshalProperties(req.GetNews(), unmarshalOpts)
	if err != nil {
		return nil, err
	}
	olds, err := plugin.UnmarshalProperties(req.GetOlds(), unmarshalOpts)
	if err != nil {
		return nil, err
	}
	urn := resource.URN(req.GetUrn())

	var failures []*pulumirpc.CheckFailure
	checkKeys("", news, e.obj, e.info.Token, &failures)
	if len(failures) > 0 {
		return &pulumirpc.CheckResponse{Failures: failures}, nil
	}

	// Pulumi-side default: the auto-name.
	var defaulted []string
	if e.autonamed {
		if v, ok := news["name"]; !ok || v.IsNull() {
			name, err := autoName(urn, olds, req)
			if err != nil {
				return nil, err
			}
			news["name"] = resource.NewStringProperty(name)
			defaulted = append(defaulted, "name")
		}
	}

	// Terraform validation (on the inputs without the Terraform schema defaults, like the bridge).
	config, err := e.configFor(stripSecretsMap(news), nil)
	if err != nil {
		return &pulumirpc.CheckResponse{Failures: []*pulumirpc.CheckFailure{{Reason: err.Error()}}}, nil
	}
	cv, err := p.encode(config, e.ty)
	if err != nil {
		return nil, err
	}
	vresp, err := p.server.ValidateResourceTypeConfig(ctx, &tfprotov5.ValidateResourceTypeConfigRequest{TypeName: e.tfName, Config: cv})
	if err != nil {
		return nil, err
	}
	for _, d := range vresp.Diagnostics {
		prop := ""
		if d.Attribute != nil {
			prop = pulumiPath(d.Attribute, e.obj)
		}
		switch d.Severity {
		case tfprotov5.DiagnosticSeverityError:
			failures = append(failures, &pulumirpc.CheckFailure{Property: prop, Reason: diagText(d, e.obj)})
		case tfprotov5.DiagnosticSeverityWarning:
			p.warn(ctx, req.GetUrn(), fmt.Sprintf("%s verification warning: %s", urn, diagText(d, e.obj)))
		}
	}

	// Terraform schema defaults, recorded under __defaults (per object, like the bridge).
	applyDefaults(news, olds, e.obj, defaulted)
	markSensitive(news, e.obj)

	inputs, err := marshal(news, true)
	if err != nil {
		return nil, err
	}
	return &pulumirpc.CheckResponse{Inputs: inputs, Failures: failures}, nil
}

// checkKeys reports keys that are not inputs of the object, recursively.
func checkKeys(path string, pm resource.PropertyMap, obj *Object, token string, failures *[]*pulumirpc.CheckFailure) {
	for _, k := range sortedKeys(pm) {
		if isInternalKey(k) {
			continue
		}
		kp := joinPath(path, string(k))
		f := obj.ByPulumi[string(k)]
		if f == nil {
			*failures = append(*failures, &pulumirpc.CheckFailure{Property: kp, Reason: fmt.Sprintf(
				"unknown property %q for %s%s; valid inputs here are: %s", kp, token, suggest(string(k), obj),
				strings.Join(pulumiNames(obj, true), ", "))})
			continue
		}
		if !f.IsInput() {
			*failures = append(*failures, &pulumirpc.CheckFailure{Property: kp, Reason: fmt.Sprintf(
				"%q is an output of %s and cannot be set", kp, token)})
			continue
		}
		if f.Block == nil {
			continue
		}
		v, unknown := unwrap(pm[k])
		if unknown || v.IsNull() {
			continue
		}
		switch {
		case v.IsObject() && f.MaxItemsOne:
			checkKeys(kp, v.ObjectValue(), f.Block, token, failures)
		case v.IsArray() && !f.MaxItemsOne:
			for i, el := range v.ArrayValue() {
				el, unknown := unwrap(el)
				if unknown || el.IsNull() {
					continue
				}
				ep := fmt.Sprintf("%s[%d]", kp, i)
				if !el.IsObject() {
					*failures = append(*failures, &pulumirpc.CheckFailure{Property: ep, Reason: fmt.Sprintf("%q must be an object", ep)})
					continue
				}
				checkKeys(ep, el.ObjectValue(), f.Block, token, failures)
			}
		case f.MaxItemsOne:
			*failures = append(*failures, &pulumirpc.CheckFailure{Property: kp, Reason: fmt.Sprintf("%q must be an object, not %s", kp, v.TypeString())})
		default:
			*failures = append(*failures, &pulumirpc.CheckFailure{Property: kp, Reason: fmt.Sprintf("%q must be an array of objects, not %s", kp, v.TypeString())})
		}
	}
}

// suggest proposes the property a misspelt or Terraform-named key probably meant.
func suggest(key string, obj *Object) string {
	if f := obj.Fields[key]; f != nil && f.PulumiName != key {
		return fmt.Sprintf(" (did you mean %q?)", f.PulumiName)
	}
	lk := strings.ToLower(strings.ReplaceAll(key, "_", ""))
	for _, f := range obj.SortedTF() {
		if strings.ToLower(f.PulumiName) == lk || strings.ToLower(f.PulumiName) == lk+"s" || strings.ToLower(f.PulumiName)+"s" == lk {
			return fmt.Sprintf(" (did you mean %q?)", f.PulumiName)
		}
	}
	return ""
}

// autoName computes the default name of an auto-named resource, reusing the previous auto-name.
func autoName(urn resource.URN, olds resource.PropertyMap, req *pulumirpc.CheckRequest) (string, error) {
	if old, ok := olds["name"]; ok && old.IsString() && usedDefault(olds, "name") {
		return old.StringValue(), nil
	}
	if an := req.GetAutonaming(); an != nil {
		switch an.GetMode() {
		case pulumirpc.CheckRequest_AutonamingOptions_ENFORCE:
			return an.GetProposedName(), nil
		case pulumirpc.CheckRequest_AutonamingOptions_DISABLE:
			return "", fmt.Errorf("automatic naming is disabled but no explicit name was provided for %s", urn)
		default:
			if len(an.GetProposedName()) > AutonameMaxLength {
				return "", fmt.Errorf("calculated name %q exceeds the maximum length of %d", an.GetProposedName(), AutonameMaxLength)
			}
			return an.GetProposedName(), nil
		}
	}
	return resource.NewUniqueName(req.GetRandomSeed(), urn.Name()+AutonameSeparator, AutonameRandLen, AutonameMaxLength, nil)
}

// usedDefault says whether key of a previous input object was filled in by a default (no __defaults list:
// any value may be reused).
func usedDefault(olds resource.PropertyMap, key string) bool {
	d, ok := olds[defaultsKey]
	if !ok || !d.IsArray() {
		return true
	}
	for _, k := range d.ArrayValue() {
		if k.IsString() && k.StringValue() == key {
			return true
		}
	}
	return false
}

// applyDefaults fills in Terraform schema defaults for unset attributes of an object and of its nested
// blocks, skipping attributes that conflict with set ones, deprecated ones, and ones whose default would
// contradict another attribute's default; a previous default value is reused. The names of the defaulted
// attributes are recorded under "__defaults".
func applyDefaults(pm, olds resource.PropertyMap, obj *Object, defaulted []string) {
	// Nested blocks first.
	for k, v := range pm {
		f := obj.ByPulumi[string(k)]
		if f == nil || f.Block == nil {
			continue
		}
		raw, unknown := unwrap(v)
		if unknown || raw.IsNull() {
			continue
		}
		oldRaw, _ := unwrap(olds[k])
		switch {
		case raw.IsObject():
			var oo resource.PropertyMap
			if oldRaw.IsObject() {
				oo = oldRaw.ObjectValue()
			}
			nested := raw.ObjectValue().Copy()
			applyDefaults(nested, oo, f.Block, nil)
			pm[k] = rewrap(v, resource.NewObjectProperty(nested))
		case raw.IsArray():
			arr := make([]resource.PropertyValue, len(raw.ArrayValue()))
			for i, el := range raw.ArrayValue() {
				eraw, unknown := unwrap(el)
				if unknown || !eraw.IsObject() {
					arr[i] = el
					continue
				}
				var oo resource.PropertyMap
				if oldRaw.IsArray() && i < len(oldRaw.ArrayValue()) {
					if oe, _ := unwrap(oldRaw.ArrayValue()[i]); oe.IsObject() {
						oo = oe.ObjectValue()
					}
				}
				nested := eraw.ObjectValue().Copy()
				applyDefaults(nested, oo, f.Block, nil)
				arr[i] = rewrap(el, resource.NewObjectProperty(nested))
			}
			pm[k] = rewrap(v, resource.NewArrayProperty(arr))
		}
	}

	set := func(tf string) bool {
		f := obj.Fields[tf]
		if f == nil {
			return false
		}
		v, ok := pm[resource.PropertyKey(f.PulumiName)]
		return ok && !v.IsNull()
	}
	conflicts := map[string]bool{}
	for _, f := range obj.SortedTF() {
		if set(f.TFName) {
			for _, c := range f.Schema.ConflictsWith {
				conflicts[c] = true
			}
			for _, c := range f.Schema.ExactlyOneOf {
				conflicts[c] = true
			}
		} else {
			for _, c := range append(append([]string{}, f.Schema.ConflictsWith...), f.Schema.ExactlyOneOf...) {
				if c != f.TFName && set(c) {
					conflicts[f.TFName] = true
				}
			}
		}
	}
	for _, f := range obj.SortedTF() {
		k := resource.PropertyKey(f.PulumiName)
		if v, ok := pm[k]; ok && !v.IsNull() {
			continue
		}
		if conflicts[f.TFName] || (f.Schema.Deprecated != "" && !f.Schema.Required) || !f.IsInput() {
			continue
		}
		if otherHasDefault(f, obj) {
			continue
		}
		dv, err := f.Schema.DefaultValue()
		if err != nil || dv == nil {
			continue
		}
		if old, ok := olds[k]; ok && !old.IsNull() && usedDefault(olds, f.PulumiName) {
			pm[k] = old
		} else {
			pm[k] = typedDefault(dv, f.Schema)
		}
		defaulted = append(defaulted, f.PulumiName)
	}
	sort.Strings(defaulted)
	arr := make([]resource.PropertyValue, 0, len(defaulted))
	for _, d := range defaulted {
		arr = append(arr, resource.NewStringProperty(d))
	}
	pm[defaultsKey] = resource.NewArrayProperty(arr)
}

// otherHasDefault: a default is not applied when an attribute it conflicts with (or is exactly-one-of with)
// has a default itself.
func otherHasDefault(f *Field, obj *Object) bool {
	for _, c := range append(append([]string{}, f.Schema.ConflictsWith...), f.Schema.ExactlyOneOf...) {
		if c == f.TFName {
			continue
		}
		if o := obj.Fields[c]; o != nil {
			if dv, _ := o.Schema.DefaultValue(); dv != nil {
				return true
			}
		}
	}
	return false
}

func typedDefault(dv interface{}, s *schema.Schema) resource.PropertyValue {
	v := goToProperty(dv)
	switch {
	case s.Type == schema.TypeString && v.IsBool():
		return resource.NewStringProperty(fmt.Sprint(v.BoolValue()))
	case s.Type == schema.TypeString && v.IsNumber():
		return resource.NewStringProperty(fmt.Sprint(v.NumberValue()))
	}
	return v
}

// rewrap keeps the secretness of the original value.
func rewrap(orig, nv resource.PropertyValue) resource.PropertyValue {
	if orig.IsSecret() {
		return resource.MakeSecret(nv)
	}
	return nv
}

// markSensitive makes Sensitive attributes secret, recursively.
func markSensitive(pm resource.PropertyMap, obj *Object) {
	for k, v := range pm {
		f := obj.ByPulumi[string(k)]
		if f == nil {
			continue
		}
		if f.Schema.Sensitive {
			if !v.IsSecret() && !v.IsNull() && !v.IsComputed() {
				pm[k] = resource.MakeSecret(v)
			}
			continue
		}
		if f.Block == nil {
			continue
		}
		raw, unknown := unwrap(v)
		if unknown {
			continue
		}
		switch {
		case raw.IsObject():
			markSensitive(raw.ObjectValue(), f.Block)
		case raw.IsArray():
			for _, el := range raw.ArrayValue() {
				if er, unknown := unwrap(el); !unknown && er.IsObject() {
					markSensitive(er.ObjectValue(), f.Block)
				}
			}
		}
	}
}
