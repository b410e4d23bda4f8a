package bridge

import (
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"

	"github.com/hashicorp/terraform-plugin-sdk/v2/helper/schema"
)

// The @pulumi/docker npm package this plugin must be wire-compatible with, relative to this directory.
var npmDockerDir = filepath.Join("..", "..", "..", "node_modules", "@pulumi", "docker")

type dtsProp struct {
	Name     string
	Optional bool
	Type     string
}

// parseDTS returns every `export interface X {...}` / `export declare class X ... {...}` of a .d.ts file
// with its properties (methods, static members and comments skipped).
func parseDTS(t *testing.T, file string) map[string][]dtsProp {
	t.Helper()
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatalf("reading %s: %v", file, err)
	}
	header := regexp.MustCompile(`^export (?:interface|declare class) (\w+)\b.*\{$`)
	prop := regexp.MustCompile(`^ {4}(?:readonly )?(\w+)(\??): (.*);$`)
	out := map[string][]dtsProp{}
	var cur string
	// Join properties whose type spans several lines (map types: `x?: pulumi.Input<{\n [key: string]: ...}>;`).
	var lines []string
	pending := ""
	for _, line := range strings.Split(string(data), "\n") {
		if pending != "" {
			pending += " " + strings.TrimSpace(line)
			if strings.HasSuffix(pending, ";") {
				lines, pending = append(lines, pending), ""
			}
			continue
		}
		if strings.HasPrefix(line, "    ") && !strings.HasPrefix(line, "     ") && strings.HasSuffix(line, "{") &&
			strings.Contains(line, ": ") && !strings.Contains(line, "(") {
			pending = line
			continue
		}
		lines = append(lines, line)
	}
	for _, line := range lines {
		if m := header.FindStringSubmatch(line); m != nil {
			cur = m[1]
			out[cur] = []dtsProp{}
			continue
		}
		if line == "}" {
			cur = ""
			continue
		}
		if cur == "" {
			continue
		}
		if m := prop.FindStringSubmatch(line); m != nil {
			out[cur] = append(out[cur], dtsProp{Name: m[1], Optional: m[2] == "?", Type: m[3]})
		}
	}
	return out
}

type npmTypes struct {
	inputs, outputs map[string][]dtsProp
}

func loadNPM(t *testing.T) npmTypes {
	if _, err := os.Stat(filepath.Join(npmDockerDir, "package.json")); err != nil {
		t.Skipf("node_modules/@pulumi/docker is absent (%v): run npm ci in the repo root to check names", err)
	}
	pkg, _ := os.ReadFile(filepath.Join(npmDockerDir, "package.json"))
	if !strings.Contains(string(pkg), `"version": "`+PackageVersion+`"`) {
		t.Fatalf("node_modules/@pulumi/docker is not version %s", PackageVersion)
	}
	return npmTypes{
		inputs:  parseDTS(t, filepath.Join(npmDockerDir, "types", "input.d.ts")),
		outputs: parseDTS(t, filepath.Join(npmDockerDir, "types", "output.d.ts")),
	}
}

var nestedRef = regexp.MustCompile(`\b(?:inputs|outputs)\.(\w+)\b`)

// shapeOf describes the Pulumi shape a Terraform field must have in the SDK types.
func shapeOf(f *Field) string {
	switch {
	case f.Block != nil && f.MaxItemsOne:
		return "object"
	case f.Schema.Type == schema.TypeList || f.Schema.Type == schema.TypeSet:
		return "array"
	case f.Schema.Type == schema.TypeMap:
		return "map"
	default:
		return "scalar"
	}
}

func shapeOfTS(ts string) string {
	switch {
	case strings.Contains(ts, "[]"):
		return "array"
	case strings.Contains(ts, "[key: string]"):
		return "map"
	case nestedRef.MatchString(ts):
		return "object"
	default:
		return "scalar"
	}
}

type nameChecker struct {
	t           *testing.T
	npm         npmTypes
	upstream    map[string]bool // "<tf resource>:<tf path>" allowed to be missing from npm
	nowOptional map[string]bool // "<tf resource>:<tf path>" optional upstream, required in npm
	checked     int
}

// compare checks one object (resource args/state, or a nested type) against a .d.ts interface.
//   - inputsOnly: only attributes the program may set are expected (Args, nested input types);
//   - requiredness: compare optional markers (Args only);
//   - kind: "inputs" or "outputs", which types file nested references point at.
func (c *nameChecker) compare(where, tfRes, tfPath string, obj *Object, props []dtsProp, inputsOnly, requiredness bool, kind string, autonamed bool) {
	c.t.Helper()
	byName := map[string]dtsProp{}
	for _, p := range props {
		byName[p.Name] = p
	}
	seen := map[string]bool{}
	for _, f := range obj.SortedTF() {
		if inputsOnly && !f.IsInput() {
			continue
		}
		if tfPath == "" && f.TFName == "id" {
			continue // the resource id: CustomResource.id in the SDK
		}
		path := strings.TrimPrefix(tfPath+"."+f.TFName, ".")
		p, ok := byName[f.PulumiName]
		if !ok {
			if c.upstream[tfRes+":"+path] {
				continue
			}
			c.t.Errorf("%s: Terraform attribute %q maps to %q, which @pulumi/docker %s does not declare (declared: %s)",
				where, path, f.PulumiName, PackageVersion, propNames(props))
			continue
		}
		if c.upstream[tfRes+":"+path] {
			c.t.Errorf("%s: %q is listed in UpstreamOnlyAttributes but @pulumi/docker declares %q", where, path, f.PulumiName)
		}
		seen[f.PulumiName] = true
		c.checked++
		if got, want := shapeOfTS(p.Type), shapeOf(f); got != want {
			c.t.Errorf("%s.%s (%s): shape %s in @pulumi/docker (%s), %s here", where, f.PulumiName, path, got, p.Type, want)
		}
		if requiredness {
			wantOptional := !f.Schema.Required || (autonamed && tfPath == "" && f.TFName == "name")
			if c.nowOptional[tfRes+":"+path] && !wantOptional {
				c.t.Errorf("%s: %q is listed in UpstreamNowOptional but is required upstream", where, path)
			}
			if c.nowOptional[tfRes+":"+path] {
				wantOptional = false
			}
			if p.Optional != wantOptional {
				c.t.Errorf("%s.%s (%s): optional=%v in @pulumi/docker, %v here", where, f.PulumiName, path, p.Optional, wantOptional)
			}
		}
		if f.Block != nil {
			m := nestedRef.FindStringSubmatch(p.Type)
			if m == nil {
				c.t.Errorf("%s.%s: expected a nested type, got %s", where, f.PulumiName, p.Type)
				continue
			}
			file := c.npm.inputs
			if kind == "outputs" {
				file = c.npm.outputs
			}
			nested, ok := file[m[1]]
			if !ok {
				c.t.Errorf("%s.%s: nested type %s not found in %s.d.ts", where, f.PulumiName, m[1], strings.TrimSuffix(kind, "s"))
				continue
			}
			// Nested types list every attribute, computed-only ones included (optional in input types).
			c.compare(m[1], tfRes, path, f.Block, nested, false, kind == "inputs" && !f.IsOutputOnly(), kind, false)
		}
	}
	for _, p := range props {
		if !seen[p.Name] {
			c.t.Errorf("%s.%s: declared by @pulumi/docker %s but no Terraform attribute maps to it", where, p.Name, PackageVersion)
		}
	}
}

func propNames(props []dtsProp) string {
	var n []string
	for _, p := range props {
		n = append(n, p.Name)
	}
	sort.Strings(n)
	return strings.Join(n, ",")
}

// TestNamesMatchPulumiDocker5 checks every property name (nested ones included), its shape (scalar, array,
// single object, map) and, for resource arguments, its optionality against the types of @pulumi/docker 5.0.0.
func TestNamesMatchPulumiDocker5(t *testing.T) {
	npm := loadNPM(t)
	p := newTestProvider(t)
	c := &nameChecker{t: t, npm: npm, upstream: map[string]bool{}, nowOptional: map[string]bool{}}
	for res, paths := range UpstreamOnlyAttributes {
		for _, path := range paths {
			c.upstream[res+":"+path] = true
		}
	}
	for res, paths := range UpstreamNowOptional {
		for _, path := range paths {
			c.nowOptional[res+":"+path] = true
		}
	}
	for tfName, info := range Resources {
		r := p.resources[info.Token]
		if r == nil {
			t.Errorf("%s: no resource for token %s", tfName, info.Token)
			continue
		}
		cls := info.Token[strings.LastIndex(info.Token, ":")+1:]
		mod := strings.Split(strings.Split(info.Token, ":")[1], "/")[1]
		dts := parseDTS(t, filepath.Join(npmDockerDir, mod+".d.ts"))
		for _, iface := range []string{cls, cls + "Args", cls + "State"} {
			if _, ok := dts[iface]; !ok {
				t.Errorf("%s.d.ts has no %s", mod, iface)
			}
		}
		// The class has every property, plain Output<T> of outputs types; `id` and `urn` come from CustomResource.
		c.compare(cls, tfName, "", r.obj, dts[cls], false, false, "outputs", r.autonamed)
		c.compare(cls+"Args", tfName, "", r.obj, dts[cls+"Args"], true, true, "inputs", r.autonamed)
		c.compare(cls+"State", tfName, "", r.obj, dts[cls+"State"], false, false, "inputs", r.autonamed)
	}
	dts := parseDTS(t, filepath.Join(npmDockerDir, "provider.d.ts"))
	c.compare("ProviderArgs", "provider", "", p.config, dts["ProviderArgs"], true, false, "inputs", false)
	if c.checked < 400 {
		t.Errorf("only %d properties compared; the .d.ts parser probably failed", c.checked)
	}
	t.Logf("compared %d property names with @pulumi/docker %s", c.checked, PackageVersion)
}

func TestCamelCaseAndPlurals(t *testing.T) {
	sch := map[string]*schema.Schema{
		"networks_advanced":     {Type: schema.TypeSet, Elem: &schema.Resource{}},
		"env":                   {Type: schema.TypeSet, Elem: &schema.Schema{Type: schema.TypeString}},
		"upload":                {Type: schema.TypeSet, Elem: &schema.Resource{}},
		"healthcheck":           {Type: schema.TypeList, MaxItems: 1, Elem: &schema.Resource{}},
		"log_opts":              {Type: schema.TypeMap},
		"dns":                   {Type: schema.TypeSet, Elem: &schema.Schema{Type: schema.TypeString}},
		"label":                 {Type: schema.TypeSet, Elem: &schema.Resource{}},
		"labels":                {Type: schema.TypeMap}, // plural taken: "label" stays singular
		"destroy_grace_seconds": {Type: schema.TypeInt},
	}
	want := map[string]string{
		"networks_advanced": "networksAdvanceds", "env": "envs", "upload": "uploads", "healthcheck": "healthcheck",
		"log_opts": "logOpts", "dns": "dns", "label": "label", "labels": "labels",
		"destroy_grace_seconds": "destroyGraceSeconds",
	}
	for tf, w := range want {
		if got := TerraformToPulumiName(tf, sch, nil); got != w {
			t.Errorf("%s -> %s, want %s", tf, got, w)
		}
	}
	if got := TerraformToPulumiName("networks_advanced", sch, map[string]*FieldInfo{"networks_advanced": {Name: "networksAdvanced"}}); got != "networksAdvanced" {
		t.Errorf("override ignored: %s", got)
	}
	if got := TerraformToPulumiName("healthcheck", sch, map[string]*FieldInfo{"healthcheck": {MaxItemsOne: boolPtr(false)}}); got != "healthchecks" {
		t.Errorf("MaxItemsOne=false override ignored: %s", got)
	}
	for in, w := range map[string]string{"__meta": "__meta", "a_b_c": "aBC", "x_": "x_", "ip_address": "ipAddress"} {
		if got := CamelCase(in); got != w {
			t.Errorf("CamelCase(%q) = %q, want %q", in, got, w)
		}
	}
}
