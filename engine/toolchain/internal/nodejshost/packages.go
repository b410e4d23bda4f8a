package nodejshost

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/blang/semver"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource/plugin"
	"github.com/pulumi/pulumi/sdk/v3/go/common/workspace"
	pulumirpc "github.com/pulumi/pulumi/sdk/v3/proto/go"
)

// packageJSON is the part of a package.json the host reads.
type packageJSON struct {
	Name            string                  `json:"name"`
	Version         string                  `json:"version"`
	Pulumi          plugin.PulumiPluginJSON `json:"pulumi"`
	Dependencies    map[string]string       `json:"dependencies"`
	DevDependencies map[string]string       `json:"devDependencies"`
}

// FindPackages walks dir (deeply, following symlinks once, skipping nested policy packs) like the official host's
// getPackagesFromDir, and returns a resource package for every package.json inside a node_modules directory whose
// "pulumi" section has resource: true. It also records every @pulumi/pulumi version found, keyed by path.
// Errors on individual entries are collected and returned alongside whatever was found.
func FindPackages(dir string, sdkVersions map[string]semver.Version) ([]*pulumirpc.PackageDependency, error) {
	return findPackages(dir, sdkVersions, false, map[string]struct{}{})
}

func findPackages(dir string, sdkVersions map[string]semver.Version, inNodeModules bool,
	visited map[string]struct{},
) ([]*pulumirpc.PackageDependency, error) {
	dir, err := filepath.Abs(dir)
	if err != nil {
		return nil, fmt.Errorf("getting full path for plugin dir %s: %w", dir, err)
	}
	if _, ok := visited[dir]; ok {
		return nil, nil
	}
	visited[dir] = struct{}{}

	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("reading plugin dir %s: %w", dir, err)
	}

	var packages []*pulumirpc.PackageDependency
	var errs []error
	for _, entry := range entries {
		name := entry.Name()
		curr := filepath.Join(dir, name)
		isDir := entry.IsDir()
		if entry.Type()&fs.ModeSymlink != 0 {
			resolved, err := filepath.EvalSymlinks(curr)
			if err != nil {
				errs = append(errs, fmt.Errorf("resolving link in plugin dir %s: %w", curr, err))
				continue
			}
			curr = resolved
			fi, err := os.Stat(curr)
			if err != nil {
				errs = append(errs, err)
				continue
			}
			isDir = fi.IsDir()
		}

		switch {
		case isDir:
			// Plugins of a nested policy pack are not dependencies of the program.
			policyPack, err := workspace.DetectPolicyPackPathAt(curr)
			if err != nil {
				errs = append(errs, err)
				continue
			}
			if policyPack != "" {
				continue
			}
			more, err := findPackages(curr, sdkVersions, inNodeModules || filepath.Base(dir) == "node_modules", visited)
			if err != nil {
				errs = append(errs, err)
			}
			packages = append(packages, more...)
		case inNodeModules && name == "package.json":
			b, err := os.ReadFile(curr)
			if err != nil {
				errs = append(errs, fmt.Errorf("reading package.json %s: %w", curr, err))
				continue
			}
			var info packageJSON
			if err := json.Unmarshal(b, &info); err != nil {
				errs = append(errs, fmt.Errorf("unmarshaling package.json %s: %w", curr, err))
				continue
			}
			if info.Name == "@pulumi/pulumi" {
				v, err := semver.Parse(info.Version)
				if err != nil {
					errs = append(errs, fmt.Errorf("Could not understand version %s in '%s': %w", info.Version, curr, err))
					continue
				}
				sdkVersions[curr] = v
			}
			dep, err := packageDependency(info)
			if err != nil {
				errs = append(errs, fmt.Errorf("unmarshaling package.json %s: %w", curr, err))
			} else if dep != nil {
				packages = append(packages, dep)
			}
		}
	}
	return packages, errors.Join(errs...)
}

// packageDependency returns the resource plugin a package.json declares, or nil if it declares none.
func packageDependency(info packageJSON) (*pulumirpc.PackageDependency, error) {
	if !info.Pulumi.Resource {
		return nil, nil
	}
	name := info.Pulumi.Name
	if name == "" {
		if info.Name == "" {
			return nil, errors.New("missing expected \"name\" property")
		}
		if !strings.HasPrefix(info.Name, "@pulumi/") {
			return nil, fmt.Errorf("Missing property \"name\" for the third-party plugin '%v' "+
				"inside package.json under the \"pulumi\" section.", info.Name)
		}
		name = strings.TrimPrefix(info.Name, "@pulumi/")
	}
	version := info.Pulumi.Version
	if version == "" {
		version = info.Version
		if version == "" {
			return nil, errors.New("Missing expected \"version\" property")
		}
	}
	if !strings.HasPrefix(version, "v") {
		version = "v" + version
	}
	dep := &pulumirpc.PackageDependency{
		Name: name, Kind: "resource", Version: version, Server: info.Pulumi.Server,
	}
	if p := info.Pulumi.Parameterization; p != nil {
		dep.Parameterization = &pulumirpc.PackageParameterization{Name: p.Name, Version: p.Version, Value: p.Value}
	}
	if p := info.Pulumi.ExtensionParameterization; p != nil {
		dep.Extension = &pulumirpc.PackageParameterization{Name: p.Name, Version: p.Version, Value: p.Value}
	}
	return dep, nil
}

// compatibleVersions is the official host's check for mixed @pulumi/pulumi versions.
func compatibleVersions(a, b semver.Version) (bool, string) {
	switch {
	case a.Major == 0 && b.Major == 0:
		if a.Minor != b.Minor {
			return false, "Differing major or minor versions are not supported."
		}
	case a.Major >= 1 && a.Major <= 2 && b.Major >= 1 && b.Major <= 2:
	case a.Major > 2 || b.Major > 2:
		if a.Major != b.Major {
			return false, "Differing major versions are not supported."
		}
	case a.Major == 1 && b.Major == 0 && b.Minor == 17 || b.Major == 1 && a.Major == 0 && a.Minor == 17:
	default:
		return false, "Differing major or minor versions are not supported."
	}
	return true, ""
}

// Dependency is a name and installed version.
type Dependency struct{ Name, Version string }

// ProgramDependencies lists the program's dependencies with their installed versions, read from package.json and
// node_modules (no package manager is run). With transitive, every package installed in node_modules is listed.
func ProgramDependencies(programDir string, transitive bool) ([]Dependency, error) {
	root, err := findUp(programDir, "package.json")
	if err != nil {
		return nil, err
	}
	rootDir := filepath.Dir(root)
	installed := func(name string) string {
		b, err := os.ReadFile(filepath.Join(rootDir, "node_modules", name, "package.json"))
		if err != nil {
			return ""
		}
		var info packageJSON
		if json.Unmarshal(b, &info) != nil {
			return ""
		}
		return info.Version
	}
	var deps []Dependency
	if !transitive {
		b, err := os.ReadFile(root)
		if err != nil {
			return nil, err
		}
		var info packageJSON
		if err := json.Unmarshal(b, &info); err != nil {
			return nil, fmt.Errorf("parsing %s: %w", root, err)
		}
		for _, m := range []map[string]string{info.Dependencies, info.DevDependencies} {
			for name, want := range m {
				v := installed(name)
				if v == "" {
					v = want
				}
				deps = append(deps, Dependency{name, v})
			}
		}
	} else {
		nm := filepath.Join(rootDir, "node_modules")
		entries, err := os.ReadDir(nm)
		if err != nil {
			return nil, fmt.Errorf("node_modules not found in %s; run npm ci: %w", rootDir, err)
		}
		for _, e := range entries {
			names := []string{e.Name()}
			if strings.HasPrefix(e.Name(), "@") {
				scoped, _ := os.ReadDir(filepath.Join(nm, e.Name()))
				names = names[:0]
				for _, s := range scoped {
					names = append(names, e.Name()+"/"+s.Name())
				}
			}
			for _, name := range names {
				if v := installed(name); v != "" {
					deps = append(deps, Dependency{name, v})
				}
			}
		}
	}
	sort.Slice(deps, func(i, j int) bool { return deps[i].Name < deps[j].Name })
	return deps, nil
}

func findUp(dir, file string) (string, error) {
	dir, err := filepath.Abs(dir)
	if err != nil {
		return "", err
	}
	for {
		p := filepath.Join(dir, file)
		if _, err := os.Stat(p); err == nil {
			return p, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", fmt.Errorf("no %s found in %s or its parents", file, dir)
		}
		dir = parent
	}
}

// packageManager guesses the package manager from the option and lock files, as `pulumi about` reports it.
func packageManager(option, programDir string) string {
	if option != "" && option != "auto" {
		return option
	}
	for _, lf := range []struct{ file, pm string }{
		{"bun.lock", "bun"}, {"bun.lockb", "bun"}, {"pnpm-lock.yaml", "pnpm"}, {"yarn.lock", "yarn"},
		{"package-lock.json", "npm"},
	} {
		if _, err := findUp(programDir, lf.file); err == nil {
			return lf.pm
		}
	}
	return "npm"
}
