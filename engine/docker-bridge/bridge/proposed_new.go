package bridge

import (
	"github.com/hashicorp/go-cty/cty"
	"github.com/hashicorp/terraform-plugin-go/tfprotov5"
)

// proposedNew computes the "proposed new state" Terraform core hands to PlanResourceChange: the
// configuration, with the prior state's values kept for computed attributes the configuration leaves
// unset. Nested blocks are correlated with their prior counterparts by index (lists), by key (maps) or,
// for sets, by equality of their non-computed attributes. (Written after Terraform's documented
// plans/objchange.ProposedNew semantics.)
func proposedNew(b *tfprotov5.SchemaBlock, prior, config cty.Value) cty.Value {
	if config.IsNull() || !config.IsKnown() {
		return config
	}
	if prior.IsNull() || !prior.IsKnown() {
		prior = emptyBlockValue(b, config.Type())
	}
	attrs := map[string]cty.Value{}
	for _, a := range b.Attributes {
		p, c := prior.GetAttr(a.Name), config.GetAttr(a.Name)
		switch {
		case a.Computed && a.Optional:
			if c.IsNull() {
				attrs[a.Name] = p
			} else {
				attrs[a.Name] = c
			}
		case a.Computed:
			attrs[a.Name] = p
		default:
			attrs[a.Name] = c
		}
	}
	for _, nb := range b.BlockTypes {
		attrs[nb.TypeName] = proposedNewNested(nb, prior.GetAttr(nb.TypeName), config.GetAttr(nb.TypeName))
	}
	return cty.ObjectVal(attrs)
}

// emptyBlockValue is what an empty configuration block decodes to: null attributes, empty nested
// collections, null single blocks.
func emptyBlockValue(b *tfprotov5.SchemaBlock, ty cty.Type) cty.Value {
	attrs := map[string]cty.Value{}
	for _, a := range b.Attributes {
		attrs[a.Name] = cty.NullVal(ty.AttributeType(a.Name))
	}
	for _, nb := range b.BlockTypes {
		t := ty.AttributeType(nb.TypeName)
		switch nb.Nesting {
		case tfprotov5.SchemaNestedBlockNestingModeList:
			attrs[nb.TypeName] = cty.ListValEmpty(t.ElementType())
		case tfprotov5.SchemaNestedBlockNestingModeSet:
			attrs[nb.TypeName] = cty.SetValEmpty(t.ElementType())
		case tfprotov5.SchemaNestedBlockNestingModeMap:
			attrs[nb.TypeName] = cty.MapValEmpty(t.ElementType())
		default:
			attrs[nb.TypeName] = cty.NullVal(t)
		}
	}
	return cty.ObjectVal(attrs)
}

func proposedNewNested(nb *tfprotov5.SchemaNestedBlock, prior, config cty.Value) cty.Value {
	if !config.IsKnown() {
		return config
	}
	ty := config.Type()
	switch nb.Nesting {
	case tfprotov5.SchemaNestedBlockNestingModeSingle, tfprotov5.SchemaNestedBlockNestingModeGroup:
		if config.IsNull() {
			return config
		}
		return proposedNew(nb.Block, prior, config)
	case tfprotov5.SchemaNestedBlockNestingModeList:
		if config.IsNull() || config.LengthInt() == 0 {
			return cty.ListValEmpty(ty.ElementType())
		}
		var out []cty.Value
		for it := config.ElementIterator(); it.Next(); {
			idx, c := it.Element()
			if prior.IsNull() || !prior.IsKnown() || !prior.HasIndex(idx).True() {
				out = append(out, c)
				continue
			}
			out = append(out, proposedNew(nb.Block, prior.Index(idx), c))
		}
		return cty.ListVal(out)
	case tfprotov5.SchemaNestedBlockNestingModeMap:
		if config.IsNull() || config.LengthInt() == 0 {
			return cty.MapValEmpty(ty.ElementType())
		}
		out := map[string]cty.Value{}
		for it := config.ElementIterator(); it.Next(); {
			k, c := it.Element()
			if prior.IsNull() || !prior.IsKnown() || !prior.HasIndex(k).True() {
				out[k.AsString()] = c
				continue
			}
			out[k.AsString()] = proposedNew(nb.Block, prior.Index(k), c)
		}
		return cty.MapVal(out)
	case tfprotov5.SchemaNestedBlockNestingModeSet:
		if config.IsNull() || config.LengthInt() == 0 {
			return cty.SetValEmpty(ty.ElementType())
		}
		type candidate struct {
			prior, cmp cty.Value
			used       bool
		}
		var cands []*candidate
		if !prior.IsNull() && prior.IsKnown() {
			for it := prior.ElementIterator(); it.Next(); {
				_, p := it.Element()
				cands = append(cands, &candidate{prior: p, cmp: nonComputedView(nb.Block, p)})
			}
		}
		var out []cty.Value
		for it := config.ElementIterator(); it.Next(); {
			_, c := it.Element()
			p := cty.NullVal(ty.ElementType())
			for _, cand := range cands {
				if !cand.used && cand.cmp.RawEquals(c) {
					p, cand.used = cand.prior, true
					break
				}
			}
			out = append(out, proposedNew(nb.Block, p, c))
		}
		return cty.SetVal(out)
	}
	return config
}

// nonComputedView nulls every computed attribute of a prior set element, so it can be compared with a
// configuration element (where computed attributes are unset).
func nonComputedView(b *tfprotov5.SchemaBlock, v cty.Value) cty.Value {
	if v.IsNull() || !v.IsKnown() {
		return v
	}
	attrs := map[string]cty.Value{}
	for _, a := range b.Attributes {
		if a.Computed {
			attrs[a.Name] = cty.NullVal(v.Type().AttributeType(a.Name))
		} else {
			attrs[a.Name] = v.GetAttr(a.Name)
		}
	}
	for _, nb := range b.BlockTypes {
		bv := v.GetAttr(nb.TypeName)
		switch nb.Nesting {
		case tfprotov5.SchemaNestedBlockNestingModeSingle, tfprotov5.SchemaNestedBlockNestingModeGroup:
			attrs[nb.TypeName] = nonComputedView(nb.Block, bv)
		case tfprotov5.SchemaNestedBlockNestingModeList, tfprotov5.SchemaNestedBlockNestingModeSet:
			if bv.IsNull() || !bv.IsKnown() || bv.LengthInt() == 0 {
				attrs[nb.TypeName] = bv
				continue
			}
			var elems []cty.Value
			for it := bv.ElementIterator(); it.Next(); {
				_, e := it.Element()
				elems = append(elems, nonComputedView(nb.Block, e))
			}
			if nb.Nesting == tfprotov5.SchemaNestedBlockNestingModeSet {
				attrs[nb.TypeName] = cty.SetVal(elems)
			} else {
				attrs[nb.TypeName] = cty.ListVal(elems)
			}
		default:
			attrs[nb.TypeName] = bv
		}
	}
	return cty.ObjectVal(attrs)
}
