package bridge

import (
	"sort"
	"unicode"

	"github.com/hashicorp/terraform-plugin-sdk/v2/helper/schema"
	"github.com/pulumi/inflector"
)

// TerraformToPulumiName projects a Terraform attribute name of the schema map sch to its Pulumi property
// name, following the same generic rules as the Pulumi Terraform bridge:
//   - an override's Name wins;
//   - lists and sets are pluralised unless they are flattened (MaxItems == 1, or the override says so),
//     and only if the plural is not itself an attribute of the same object;
//   - snake_case becomes camelCase (leading underscores are kept, a trailing one too).
func TerraformToPulumiName(name string, sch map[string]*schema.Schema, overrides map[string]*FieldInfo) string {
	info := overrides[name]
	if info != nil && info.Name != "" {
		return info.Name
	}
	if s := sch[name]; s != nil && (s.Type == schema.TypeList || s.Type == schema.TypeSet) && !isMaxItemsOne(s, info) {
		plural := inflector.Pluralize(name)
		_, conflict := sch[plural]
		if !conflict {
			name = plural
		}
	}
	return CamelCase(name)
}

// CamelCase turns snake_case into camelCase; leading underscores are kept verbatim and a trailing
// underscore is kept too ("__meta" stays "__meta").
func CamelCase(name string) string {
	var out []rune
	started, upperNext := false, false
	var prev rune
	for _, c := range name {
		if c == '_' && started {
			upperNext = true
			prev = c
			continue
		}
		if c != '_' {
			started = true
		}
		if upperNext && c >= 'a' && c <= 'z' {
			c = unicode.ToUpper(c)
		}
		out = append(out, c)
		upperNext = false
		prev = c
	}
	if prev == '_' {
		out = append(out, '_')
	}
	return string(out)
}

// isMaxItemsOne says whether a list/set attribute is projected as a single value.
func isMaxItemsOne(s *schema.Schema, info *FieldInfo) bool {
	if s == nil || (s.Type != schema.TypeList && s.Type != schema.TypeSet) {
		return false
	}
	if info != nil && info.MaxItemsOne != nil {
		return *info.MaxItemsOne
	}
	return s.MaxItems == 1
}

// Object is the naming view of one Terraform object (a resource, a nested block, the provider config).
type Object struct {
	Fields   map[string]*Field // by Terraform name
	ByPulumi map[string]*Field // by Pulumi name
	Schema   map[string]*schema.Schema
}

// Field is one attribute of an Object.
type Field struct {
	TFName, PulumiName string
	Schema             *schema.Schema
	Info               *FieldInfo
	MaxItemsOne        bool
	// Block is set when the attribute's element is an object (a nested block or a list of objects).
	Block *Object
}

// NewObject builds the naming view of a schema map and, recursively, of its nested blocks.
func NewObject(sch map[string]*schema.Schema, overrides map[string]*FieldInfo) *Object {
	o := &Object{Fields: map[string]*Field{}, ByPulumi: map[string]*Field{}, Schema: sch}
	for name, s := range sch {
		info := overrides[name]
		f := &Field{
			TFName:      name,
			PulumiName:  TerraformToPulumiName(name, sch, overrides),
			Schema:      s,
			Info:        info,
			MaxItemsOne: isMaxItemsOne(s, info),
		}
		if r, ok := s.Elem.(*schema.Resource); ok {
			var nested map[string]*FieldInfo
			if info != nil {
				nested = info.Fields
			}
			f.Block = NewObject(r.SchemaMap(), nested)
		}
		o.Fields[name] = f
		o.ByPulumi[f.PulumiName] = f
	}
	return o
}

// SortedTF returns the fields ordered by Terraform name.
func (o *Object) SortedTF() []*Field {
	out := make([]*Field, 0, len(o.Fields))
	for _, f := range o.Fields {
		out = append(out, f)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].TFName < out[j].TFName })
	return out
}

// IsInput says whether the program may set the attribute.
func (f *Field) IsInput() bool { return f.Schema.Required || f.Schema.Optional }

// IsOutputOnly says whether the attribute is computed only.
func (f *Field) IsOutputOnly() bool {
	return f.Schema.Computed && !f.Schema.Optional && !f.Schema.Required
}
