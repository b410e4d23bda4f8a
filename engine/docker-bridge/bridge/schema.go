package bridge

import "encoding/json"

// schemaJSON is the package schema returned by GetSchema. The engine does not need the full schema to run
// programs written against the published @pulumi/docker SDK; it gets the package's identity and the
// resources this plugin serves (with their property names), enough for tooling that lists them.
func (p *Provider) schemaJSON() (string, error) {
	resources := map[string]interface{}{}
	for tok, e := range p.resources {
		props := map[string]interface{}{}
		inputs := map[string]interface{}{}
		for _, f := range e.obj.SortedTF() {
			spec := map[string]interface{}{"$ref": "pulumi.json#/Any"}
			if f.Schema.Sensitive {
				spec["secret"] = true
			}
			props[f.PulumiName] = spec
			if f.IsInput() {
				inputs[f.PulumiName] = spec
			}
		}
		resources[tok] = map[string]interface{}{"properties": props, "inputProperties": inputs}
	}
	b, err := json.Marshal(map[string]interface{}{
		"name":      PackageName,
		"version":   PackageVersion,
		"resources": resources,
	})
	return string(b), err
}
