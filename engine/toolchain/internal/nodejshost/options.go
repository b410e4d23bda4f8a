package nodejshost

import (
	"errors"
	"fmt"

	"github.com/google/shlex"
)

// Options are the Pulumi.yaml `runtime.options` the Node.js host understands, parsed exactly as the official
// pulumi-language-nodejs parseOptions does (same defaults and error messages).
type Options struct {
	// Typescript runs the program through ts-node (PULUMI_NODEJS_TYPESCRIPT=true). Defaults to true.
	Typescript bool
	// Tsconfig is the tsconfig.json to use (PULUMI_NODEJS_TSCONFIG_PATH).
	Tsconfig string
	// Nodeargs are extra arguments for the node process, split like a shell does (google/shlex).
	Nodeargs string
	// PackageManager is one of auto, npm, yarn, pnpm, bun (only reported; this host installs nothing).
	PackageManager string
	// Production skips devDependencies when installing (only validated).
	Production bool
}

// ParseOptions parses runtime.options.
func ParseOptions(options map[string]any) (Options, error) {
	opts := Options{Typescript: true, PackageManager: "auto"}

	if typescript, ok := options["typescript"]; ok {
		ts, ok := typescript.(bool)
		if !ok {
			return opts, errors.New("typescript option must be a boolean")
		}
		opts.Typescript = ts
	}
	if tsconfigpath, ok := options["tsconfig"]; ok {
		tsconfig, ok := tsconfigpath.(string)
		if !ok {
			return opts, errors.New("tsconfigpath option must be a string")
		}
		opts.Tsconfig = tsconfig
	}
	if nodeargs, ok := options["nodeargs"]; ok {
		args, ok := nodeargs.(string)
		if !ok {
			return opts, errors.New("nodeargs option must be a string")
		}
		opts.Nodeargs = args
	}
	if production, ok := options["production"]; ok {
		prod, ok := production.(bool)
		if !ok {
			return opts, errors.New("production option must be a boolean")
		}
		opts.Production = prod
	}
	if packagemanager, ok := options["packagemanager"]; ok {
		pm, ok := packagemanager.(string)
		if !ok {
			return opts, errors.New("packagemanager option must be a string")
		}
		switch pm {
		case "auto", "npm", "yarn", "pnpm", "bun":
			opts.PackageManager = pm
		default:
			return opts, fmt.Errorf("packagemanager option must be one of auto, npm, yarn, pnpm or bun, got %q", pm)
		}
	}
	return opts, nil
}

// NodeArgs splits the nodeargs option into arguments (quotes and escapes handled like a POSIX shell).
func (o Options) NodeArgs() ([]string, error) {
	return shlex.Split(o.Nodeargs)
}

// Env returns the environment variables the @pulumi/pulumi run script reads for these options.
func (o Options) Env() []string {
	var env []string
	if o.Typescript {
		env = append(env, "PULUMI_NODEJS_TYPESCRIPT=true")
	}
	if o.Tsconfig != "" {
		env = append(env, "PULUMI_NODEJS_TSCONFIG_PATH="+o.Tsconfig)
	}
	return env
}
