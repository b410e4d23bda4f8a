package bridge

import (
	"encoding/json"
	"fmt"
	"math/big"
	"sort"
	"strconv"
	"strings"

	"github.com/hashicorp/go-cty/cty"
	"github.com/hashicorp/terraform-plugin-sdk/v2/helper/schema"
	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
)

// Conversions between Pulumi property values (camelCase names, MaxItems=1 blocks flattened, sets as arrays)
// and Terraform cty values (snake_case names, every attribute present, blocks as lists/sets).

// isInternalKey says whether a Pulumi key is bridge/engine bookkeeping ("__defaults", "__meta", ...).
func isInternalKey(k resource.PropertyKey) bool { return strings.HasPrefix(string(k), "__") }

const (
	defaultsKey = resource.PropertyKey("__defaults")
	metaKey     = resource.PropertyKey("__meta")
)

// unwrap removes secret and known-output wrappers; it reports whether the value is unknown.
func unwrap(v resource.PropertyValue) (resource.PropertyValue, bool) {
	for {
		switch {
		case v.IsSecret():
			v = v.SecretValue().Element
		case v.IsOutput():
			o := v.OutputValue()
			if !o.Known {
				return v, true
			}
			v = o.Element
		case v.IsComputed():
			return v, true
		default:
			return v, false
		}
	}
}

// toCtyObject converts a Pulumi object (resource inputs/state, or a nested block) to a cty object of type ty.
// Attributes in ty that obj does not describe ("id", "timeouts") are taken from extra, else null.
func toCtyObject(path string, pm resource.PropertyMap, obj *Object, ty cty.Type, extra map[string]cty.Value) (cty.Value, error) {
	attrs := map[string]cty.Value{}
	for name, aty := range ty.AttributeTypes() {
		if v, ok := extra[name]; ok {
			attrs[name] = v
			continue
		}
		f := obj.Fields[name]
		if f == nil {
			attrs[name] = cty.NullVal(aty)
			continue
		}
		v, err := toCty(joinPath(path, f.PulumiName), pm[resource.PropertyKey(f.PulumiName)], f, aty)
		if err != nil {
			return cty.NilVal, err
		}
		attrs[name] = v
	}
	for k := range pm {
		if isInternalKey(k) {
			continue
		}
		if obj.ByPulumi[string(k)] == nil {
			return cty.NilVal, fmt.Errorf("%s: unknown property", joinPath(path, string(k)))
		}
	}
	return cty.ObjectVal(attrs), nil
}

func joinPath(base, key string) string {
	if base == "" {
		return key
	}
	return base + "." + key
}

// toCty converts one attribute value. f describes the attribute (nil for plain collection elements).
func toCty(path string, v resource.PropertyValue, f *Field, ty cty.Type) (cty.Value, error) {
	v, unknown := unwrap(v)
	if unknown {
		return cty.UnknownVal(ty), nil
	}
	if v.IsNull() {
		// Terraform represents an absent nested block as an empty collection, never as null.
		if f != nil && f.Block != nil && !f.IsOutputOnly() {
			switch {
			case ty.IsListType():
				return cty.ListValEmpty(ty.ElementType()), nil
			case ty.IsSetType():
				return cty.SetValEmpty(ty.ElementType()), nil
			}
		}
		return cty.NullVal(ty), nil
	}
	switch {
	case ty == cty.String:
		switch {
		case v.IsString():
			return cty.StringVal(v.StringValue()), nil
		case v.IsBool():
			return cty.StringVal(strconv.FormatBool(v.BoolValue())), nil
		case v.IsNumber():
			return cty.StringVal(strconv.FormatFloat(v.NumberValue(), 'f', -1, 64)), nil
		}
	case ty == cty.Number:
		switch {
		case v.IsNumber():
			return cty.NumberFloatVal(v.NumberValue()), nil
		case v.IsString():
			n, err := strconv.ParseFloat(v.StringValue(), 64)
			if err != nil {
				return cty.NilVal, fmt.Errorf("%s: expected a number, got %q", path, v.StringValue())
			}
			return cty.NumberFloatVal(n), nil
		}
	case ty == cty.Bool:
		switch {
		case v.IsBool():
			return cty.BoolVal(v.BoolValue()), nil
		case v.IsString():
			b, err := strconv.ParseBool(v.StringValue())
			if err != nil {
				return cty.NilVal, fmt.Errorf("%s: expected a boolean, got %q", path, v.StringValue())
			}
			return cty.BoolVal(b), nil
		}
	case ty.IsListType() || ty.IsSetType():
		if f != nil && f.MaxItemsOne && !v.IsArray() {
			v = resource.NewArrayProperty([]resource.PropertyValue{v})
		}
		if !v.IsArray() {
			break
		}
		ety := ty.ElementType()
		var elems []cty.Value
		for i, e := range v.ArrayValue() {
			epath := fmt.Sprintf("%s[%d]", path, i)
			var ev cty.Value
			var err error
			if f != nil && f.Block != nil {
				ev, err = toCtyBlockElem(epath, e, f.Block, ety)
			} else {
				ev, err = toCty(epath, e, elemField(f), ety)
			}
			if err != nil {
				return cty.NilVal, err
			}
			elems = append(elems, ev)
		}
		if len(elems) == 0 {
			if ty.IsListType() {
				return cty.ListValEmpty(ety), nil
			}
			return cty.SetValEmpty(ety), nil
		}
		if ty.IsListType() {
			return cty.ListVal(elems), nil
		}
		return cty.SetVal(elems), nil
	case ty.IsMapType():
		if !v.IsObject() {
			break
		}
		m := map[string]cty.Value{}
		for k, e := range v.ObjectValue() {
			ev, err := toCty(fmt.Sprintf("%s[%q]", path, string(k)), e, elemField(f), ty.ElementType())
			if err != nil {
				return cty.NilVal, err
			}
			m[string(k)] = ev
		}
		if len(m) == 0 {
			return cty.MapValEmpty(ty.ElementType()), nil
		}
		return cty.MapVal(m), nil
	case ty.IsObjectType():
		if f != nil && f.Block != nil {
			return toCtyBlockElem(path, v, f.Block, ty)
		}
	}
	return cty.NilVal, fmt.Errorf("%s: expected %s, got %s", path, friendlyType(ty, f), v.TypeString())
}

func toCtyBlockElem(path string, v resource.PropertyValue, o *Object, ty cty.Type) (cty.Value, error) {
	v, unknown := unwrap(v)
	if unknown {
		return cty.UnknownVal(ty), nil
	}
	if v.IsNull() {
		return cty.NullVal(ty), nil
	}
	if !v.IsObject() {
		return cty.NilVal, fmt.Errorf("%s: expected an object, got %s", path, v.TypeString())
	}
	return toCtyObject(path, v.ObjectValue(), o, ty, nil)
}

// elemField describes the elements of a list/set/map of primitives (so Sensitive still applies).
func elemField(f *Field) *Field {
	if f == nil {
		return nil
	}
	if es, ok := f.Schema.Elem.(*schema.Schema); ok {
		return &Field{TFName: f.TFName, PulumiName: f.PulumiName, Schema: es}
	}
	return nil
}

func friendlyType(ty cty.Type, f *Field) string {
	switch {
	case ty == cty.String:
		return "a string"
	case ty == cty.Number:
		return "a number"
	case ty == cty.Bool:
		return "a boolean"
	case f != nil && f.MaxItemsOne:
		return "an object"
	case ty.IsListType() || ty.IsSetType():
		return "an array"
	case ty.IsMapType() || ty.IsObjectType():
		return "an object"
	}
	return ty.FriendlyName()
}

// fromCtyObject converts a cty object to Pulumi properties; every attribute obj describes is present (null
// when null), attributes it does not describe are left out.
func fromCtyObject(v cty.Value, obj *Object) resource.PropertyMap {
	pm := resource.PropertyMap{}
	if v.IsNull() || !v.IsKnown() {
		return pm
	}
	for name := range v.Type().AttributeTypes() {
		f := obj.Fields[name]
		if f == nil {
			continue
		}
		pm[resource.PropertyKey(f.PulumiName)] = fromCty(v.GetAttr(name), f)
	}
	return pm
}

func unknownProperty() resource.PropertyValue {
	return resource.MakeComputed(resource.NewStringProperty(""))
}

// fromCty converts one attribute value; Sensitive attributes become secrets.
func fromCty(v cty.Value, f *Field) resource.PropertyValue {
	out := fromCtyPlain(v, f)
	if f != nil && f.Schema != nil && f.Schema.Sensitive && !out.IsComputed() {
		return resource.MakeSecret(out)
	}
	return out
}

func fromCtyPlain(v cty.Value, f *Field) resource.PropertyValue {
	if !v.IsKnown() {
		return unknownProperty()
	}
	if v.IsNull() {
		return resource.NewNullProperty()
	}
	ty := v.Type()
	switch {
	case ty == cty.String:
		return resource.NewStringProperty(v.AsString())
	case ty == cty.Number:
		fl, _ := v.AsBigFloat().Float64()
		return resource.NewNumberProperty(fl)
	case ty == cty.Bool:
		return resource.NewBoolProperty(v.True())
	case ty.IsListType() || ty.IsSetType() || ty.IsTupleType():
		var arr []resource.PropertyValue
		for it := v.ElementIterator(); it.Next(); {
			_, e := it.Element()
			if f != nil && f.Block != nil {
				if !e.IsKnown() {
					arr = append(arr, unknownProperty())
				} else {
					arr = append(arr, resource.NewObjectProperty(fromCtyObject(e, f.Block)))
				}
			} else {
				arr = append(arr, fromCty(e, elemField(f)))
			}
		}
		if f != nil && f.MaxItemsOne {
			if len(arr) == 0 {
				return resource.NewNullProperty()
			}
			return arr[0]
		}
		if arr == nil {
			arr = []resource.PropertyValue{}
		}
		return resource.NewArrayProperty(arr)
	case ty.IsMapType() || ty.IsObjectType():
		if f != nil && f.Block != nil && ty.IsObjectType() {
			return resource.NewObjectProperty(fromCtyObject(v, f.Block))
		}
		pm := resource.PropertyMap{}
		for it := v.ElementIterator(); it.Next(); {
			k, e := it.Element()
			pm[resource.PropertyKey(k.AsString())] = fromCty(e, elemField(f))
		}
		return resource.NewObjectProperty(pm)
	}
	return resource.NewStringProperty(v.GoString())
}

// goToProperty converts a plain Go value (a Terraform schema default, decoded JSON) to a Pulumi value.
func goToProperty(v interface{}) resource.PropertyValue {
	switch x := v.(type) {
	case nil:
		return resource.NewNullProperty()
	case int:
		return resource.NewNumberProperty(float64(x))
	case int64:
		return resource.NewNumberProperty(float64(x))
	case float64:
		return resource.NewNumberProperty(x)
	case *big.Float:
		f, _ := x.Float64()
		return resource.NewNumberProperty(f)
	case json.Number:
		f, _ := x.Float64()
		return resource.NewNumberProperty(f)
	case string:
		return resource.NewStringProperty(x)
	case bool:
		return resource.NewBoolProperty(x)
	case []interface{}:
		arr := make([]resource.PropertyValue, len(x))
		for i, e := range x {
			arr[i] = goToProperty(e)
		}
		return resource.NewArrayProperty(arr)
	case []string:
		arr := make([]resource.PropertyValue, len(x))
		for i, e := range x {
			arr[i] = resource.NewStringProperty(e)
		}
		return resource.NewArrayProperty(arr)
	case map[string]interface{}:
		pm := resource.PropertyMap{}
		for k, e := range x {
			pm[resource.PropertyKey(k)] = goToProperty(e)
		}
		return resource.NewObjectProperty(pm)
	}
	return resource.NewPropertyValue(v)
}

// containsSecret reports whether a value holds a secret anywhere.
func containsSecret(v resource.PropertyValue) bool { return v.ContainsSecrets() }

// markSecrets makes outs[k] secret for every top-level input k that held a secret (a secret input produces
// a secret output).
func markSecrets(outs, ins resource.PropertyMap) {
	for k, v := range ins {
		if isInternalKey(k) || !containsSecret(v) {
			continue
		}
		if o, ok := outs[k]; ok && !o.IsSecret() && !o.IsComputed() {
			outs[k] = resource.MakeSecret(o)
		}
	}
}

func sortedKeys(pm resource.PropertyMap) []resource.PropertyKey {
	keys := make([]resource.PropertyKey, 0, len(pm))
	for k := range pm {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool { return keys[i] < keys[j] })
	return keys
}
