// Package nodejshost is a minimal Pulumi LanguageRuntime for Node.js programs. It runs a program the way the
// official pulumi-language-nodejs (pulumi/pulumi sdk/nodejs/cmd/pulumi-language-nodejs, v3.259.0) does:
//
//	node <nodeargs> <program dir's @pulumi/pulumi/cmd/run> --monitor … --engine … --project … --stack … --pwd …
//	     [--dry-run] --parallel N <entry point> <args>
//
// with PULUMI_CONFIG, PULUMI_CONFIG_SECRET_KEYS, PULUMI_NODEJS_TYPESCRIPT and PULUMI_NODEJS_TSCONFIG_PATH in the
// environment, and reports a program that already printed its error (exit code 32) as a bail, so nothing is printed
// twice. Differences from the official host: the run script is given the engine's resource monitor address directly
// instead of an in-process forwarding proxy (the engine still recognises the SDK's requests as Node.js ones by its
// grpc-node-js user agent), no --sync invoke pipes are created (@pulumi/pulumi 3.270.0 never opens them),
// dependencies are never installed, and there is no debugger attach, bun runtime, code generation or packing.
package nodejshost

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"runtime/debug"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/blang/semver"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/emptypb"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource/config"
	"github.com/pulumi/pulumi/sdk/v3/go/common/util/logging"
	"github.com/pulumi/pulumi/sdk/v3/go/common/util/rpcutil"
	"github.com/pulumi/pulumi/sdk/v3/go/common/version"
	pulumirpc "github.com/pulumi/pulumi/sdk/v3/proto/go"
)

const (
	// defaultRunPath is resolved from the program directory; PULUMI_LANGUAGE_NODEJS_RUN_PATH overrides it.
	defaultRunPath = "@pulumi/pulumi/cmd/run"
	// exitCodeAfterUserMessage is the run script's exit code for "the user has already seen a good error".
	exitCodeAfterUserMessage = 32
)

// Host implements pulumirpc.LanguageRuntimeServer for Node.js.
type Host struct {
	pulumirpc.UnimplementedLanguageRuntimeServer

	mu            sync.Mutex
	engineAddress string
	tracing       string
	otelEndpoint  string
	cancelCtx     context.Context
	cancel        context.CancelFunc

	// Stdout and Stderr receive the program's output (default os.Stdout/os.Stderr); the engine captures the
	// plugin's own streams and shows them to the user.
	Stdout, Stderr io.Writer
	// Node is the runtime executable looked up on PATH ("node").
	Node string
}

// New returns a host that reports to the engine at engineAddress (empty until Handshake when started without one).
func New(engineAddress, tracing, otelEndpoint string) *Host {
	ctx, cancel := context.WithCancel(context.Background())
	return &Host{
		engineAddress: engineAddress, tracing: tracing, otelEndpoint: otelEndpoint,
		cancelCtx: ctx, cancel: cancel, Stdout: os.Stdout, Stderr: os.Stderr, Node: "node",
	}
}

// Version is the host's version: the linked-in version.Version if set at build time, otherwise the version of the
// Pulumi Go SDK module it was built against (the same as the CLI's, since they share a go.mod).
func Version() string {
	if version.Version != "" {
		return version.Version
	}
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, m := range bi.Deps {
			if m.Path == "github.com/pulumi/pulumi/sdk/v3" {
				return m.Version
			}
		}
	}
	return "v3.0.0-dev"
}

func (h *Host) engine() string {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.engineAddress
}

// Handshake records the engine address when the CLI attaches to an already-running host.
func (h *Host) Handshake(ctx context.Context, req *pulumirpc.LanguageHandshakeRequest,
) (*pulumirpc.LanguageHandshakeResponse, error) {
	h.mu.Lock()
	h.engineAddress = req.GetEngineAddress()
	h.mu.Unlock()
	hcCtx, cancel := context.WithCancel(context.Background())
	if err := rpcutil.Healthcheck(hcCtx, req.GetEngineAddress(), 5*time.Minute, cancel); err != nil {
		cancel()
		return nil, fmt.Errorf("could not start health check host RPC server: %w", err)
	}
	return &pulumirpc.LanguageHandshakeResponse{}, nil
}

// GetPluginInfo reports the host version.
func (h *Host) GetPluginInfo(context.Context, *emptypb.Empty) (*pulumirpc.PluginInfo, error) {
	return &pulumirpc.PluginInfo{Version: Version()}, nil
}

// GetRequiredPlugins is deprecated in favour of GetRequiredPackages, and unimplemented as in the official host.
func (h *Host) GetRequiredPlugins(context.Context, *pulumirpc.GetRequiredPluginsRequest,
) (*pulumirpc.GetRequiredPluginsResponse, error) {
	return nil, status.Errorf(codes.Unimplemented, "method GetRequiredPlugins not implemented")
}

// GetRequiredPackages finds the resource plugins of the packages installed under the program directory.
func (h *Host) GetRequiredPackages(_ context.Context, req *pulumirpc.GetRequiredPackagesRequest,
) (*pulumirpc.GetRequiredPackagesResponse, error) {
	sdkVersions := map[string]semver.Version{}
	packages, err := FindPackages(req.GetInfo().GetProgramDirectory(), sdkVersions)
	if err != nil {
		logging.V(3).Infof("one or more errors while discovering plugins: %s", err)
	}
	var firstPath string
	var first semver.Version
	for path, v := range sdkVersions {
		if firstPath == "" {
			firstPath, first = path, v
			continue
		}
		if ok, msg := compatibleVersions(v, first); !ok {
			fmt.Fprintf(h.Stderr, "Found incompatible versions of @pulumi/pulumi. %s\n  Version %s referenced at %s\n"+
				"  Version %s referenced at %s\n", msg, first, firstPath, v, path)
			break
		}
	}
	return &pulumirpc.GetRequiredPackagesResponse{Packages: packages}, nil
}

// locateModule resolves mod with node's require.resolve from programDir.
func locateModule(ctx context.Context, mod, programDir, nodeBin string) (string, error) {
	script := fmt.Sprintf(`try { console.log(require.resolve('%s')); } catch (error) { `+
		`if (error.code === 'MODULE_NOT_FOUND') { console.error("It looks like the Pulumi SDK has not been installed. `+
		`Have you run pulumi install?") } else { console.error(error.message); } process.exit(1); }`, mod)
	cmd := exec.CommandContext(ctx, nodeBin, "-e", script)
	cmd.Dir = programDir
	out, err := cmd.Output()
	if err != nil {
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			return "", errors.New(string(ee.Stderr))
		}
		return "", err
	}
	return strings.TrimSpace(string(out)), nil
}

// Run runs the program to completion.
func (h *Host) Run(ctx context.Context, req *pulumirpc.RunRequest) (*pulumirpc.RunResponse, error) {
	engine := h.engine()
	if engine == "" {
		return nil, errors.New("when debugging or running explicitly, must call Handshake before Run")
	}
	if req.GetAttachDebugger() {
		return &pulumirpc.RunResponse{Error: "attaching a debugger is not supported by this pulumi-language-nodejs"}, nil
	}
	info := req.GetInfo()
	if info == nil {
		return nil, errors.New("RunRequest has no program info")
	}
	nodeBin, err := exec.LookPath(h.Node)
	if err != nil {
		return &pulumirpc.RunResponse{
			Error: fmt.Sprintf("could not find %s on the $PATH: %s", h.Node, err.Error()),
		}, nil
	}
	runPath := os.Getenv("PULUMI_LANGUAGE_NODEJS_RUN_PATH")
	if runPath == "" {
		runPath = defaultRunPath
	}
	runPath, err = locateModule(ctx, runPath, info.GetProgramDirectory(), nodeBin)
	if err != nil {
		return &pulumirpc.RunResponse{Error: err.Error()}, nil
	}
	return h.execRuntime(ctx, req, engine, nodeBin, runPath), nil
}

// Command builds the node invocation for a run: its arguments and its extra environment variables.
func (h *Host) Command(req *pulumirpc.RunRequest, engine, runPath string) ([]string, []string, error) {
	opts, err := ParseOptions(req.GetInfo().GetOptions().AsMap())
	if err != nil {
		return nil, nil, err
	}
	cfg, err := constructConfig(req)
	if err != nil {
		return nil, nil, fmt.Errorf("failed to serialize configuration: %w", err)
	}
	secretKeys := "[]"
	if keys := req.GetConfigSecretKeys(); keys != nil {
		b, err := json.Marshal(keys)
		if err != nil {
			return nil, nil, fmt.Errorf("failed to serialize configuration secret keys: %w", err)
		}
		secretKeys = string(b)
	}
	env := []string{"PULUMI_CONFIG=" + cfg, "PULUMI_CONFIG_SECRET_KEYS=" + secretKeys}
	env = append(env, opts.Env()...)
	if h.otelEndpoint != "" {
		env = append(env, "PULUMI_OTEL_EXPORTER_OTLP_ENDPOINT="+h.otelEndpoint)
	}

	args, err := opts.NodeArgs()
	if err != nil {
		return nil, nil, err
	}
	args = append(args, runPath)
	flag := func(k, v string) {
		if v != "" {
			args = append(args, "--"+k, v)
		}
	}
	flag("monitor", req.GetMonitorAddress())
	flag("engine", engine)
	flag("organization", req.GetOrganization())
	flag("project", req.GetProject())
	flag("root-directory", req.GetInfo().GetRootDirectory())
	flag("stack", req.GetStack())
	flag("pwd", req.GetInfo().GetProgramDirectory())
	if req.GetDryRun() {
		args = append(args, "--dry-run")
	}
	flag("parallel", strconv.Itoa(int(req.GetParallel())))
	flag("tracing", h.tracing)
	args = append(args, req.GetInfo().GetEntryPoint())
	args = append(args, req.GetArgs()...)
	return args, env, nil
}

// constructConfig serialises config in the legacy "<namespace>:config:<name>" key form, as the official host does.
func constructConfig(req *pulumirpc.RunRequest) (string, error) {
	cfg := req.GetConfig()
	if cfg == nil {
		return "{}", nil
	}
	out := make(map[string]string, len(cfg))
	for k, v := range cfg {
		pk, err := config.ParseKey(k)
		if err != nil {
			return "", err
		}
		out[pk.Namespace()+":config:"+pk.Name()] = v
	}
	b, err := json.Marshal(out)
	return string(b), err
}

func (h *Host) execRuntime(ctx context.Context, req *pulumirpc.RunRequest, engine, nodeBin, runPath string,
) *pulumirpc.RunResponse {
	args, extraEnv, err := h.Command(req, engine, runPath)
	if err != nil {
		return &pulumirpc.RunResponse{Error: err.Error()}
	}
	logging.V(5).Infof("Language host launching process: %s %s", nodeBin, strings.Join(args, " "))

	// Stop the program if the Cancel RPC fires or the Run request ends.
	cmdCtx, cmdCancel := context.WithCancel(h.cancelCtx)
	defer cmdCancel()
	stop := context.AfterFunc(ctx, cmdCancel)
	defer stop()
	cmd := exec.CommandContext(cmdCtx, nodeBin, args...)
	cmd.Cancel = func() error {
		if err := cmd.Process.Signal(os.Interrupt); err != nil {
			return cmd.Process.Kill()
		}
		return nil
	}
	cmd.WaitDelay = 5 * time.Second
	cmd.Env = append(os.Environ(), extraEnv...)
	// Wrapped writers, not *os.File: node may switch its stdio to non-blocking mode.
	cmd.Stdout = struct{ io.Writer }{h.Stdout}
	r, w := io.Pipe()
	cmd.Stderr = w
	sniffer := newOOMSniffer(io.TeeReader(r, h.Stderr))

	err = cmd.Start()
	if err == nil {
		err = cmd.Wait()
	}
	_ = w.Close()
	oom := sniffer.wait() // also lets the last of stderr be copied through
	if err == nil {
		return &pulumirpc.RunResponse{}
	}
	var exitErr *exec.ExitError
	if !errors.As(err, &exitErr) {
		return &pulumirpc.RunResponse{
			Error: fmt.Sprintf("Problem executing program (could not run language executor): %v", err),
		}
	}
	switch code := exitErr.ExitCode(); code {
	case 0:
		return &pulumirpc.RunResponse{Error: fmt.Sprintf("Program exited unexpectedly: %v", exitErr)}
	case exitCodeAfterUserMessage:
		// The program already showed the user an actionable message: stop without printing anything more.
		return &pulumirpc.RunResponse{Bail: true}
	default:
		msg := fmt.Sprintf("Program exited with non-zero exit code: %d", code)
		if oom {
			msg += ". " + oomMessage
		}
		return &pulumirpc.RunResponse{Error: msg}
	}
}

const oomMessage = "Detected a possible out of memory error. Consider increasing the memory available to the " +
	"nodejs process by setting the `nodeargs` runtime option in Pulumi.yaml to " +
	"`nodeargs: --max-old-space-size=<size>` where `<size>` is the maximum memory in megabytes that can be " +
	"allocated to nodejs. See https://www.pulumi.com/docs/concepts/projects/project-file/#runtime-options"

// oomSniffer scans the program's stderr (while it is copied through) for V8's out-of-memory report.
type oomSniffer struct {
	done     chan struct{}
	detected bool
}

func newOOMSniffer(r io.Reader) *oomSniffer {
	s := &oomSniffer{done: make(chan struct{})}
	go func() {
		defer close(s.done)
		sc := bufio.NewScanner(r)
		sc.Buffer(make([]byte, 64*1024), 4*1024*1024)
		for sc.Scan() {
			line := sc.Text()
			if strings.Contains(line, "<--- Last few GCs --->") ||
				strings.Contains(line, "Check failed: needs_context && current_scope_ == closure_scope_") {
				s.detected = true
			}
		}
		_, _ = io.Copy(io.Discard, r) // keep draining (and so copying to stderr) after a scanner error
	}()
	return s
}

// wait waits (bounded) for the rest of stderr and reports whether an out-of-memory error was seen.
func (s *oomSniffer) wait() bool {
	select {
	case <-s.done:
	case <-time.After(15 * time.Second):
	}
	return s.detected
}

// InstallDependencies installs nothing: this repo installs node_modules with `npm ci`. It reports what to do
// instead of failing, so `pulumi install`/`pulumi new` flows keep working.
func (h *Host) InstallDependencies(req *pulumirpc.InstallDependenciesRequest,
	server pulumirpc.LanguageRuntime_InstallDependenciesServer,
) error {
	dir := req.GetInfo().GetProgramDirectory()
	if dir == "" {
		dir = req.GetDirectory()
	}
	msg := "pulumi-language-nodejs (platform engine): not installing dependencies; "
	if _, err := findUp(dir, "node_modules/@pulumi/pulumi/package.json"); err == nil {
		msg += "node_modules is already present.\n"
	} else {
		msg += "run `npm ci` in " + dir + " to install them.\n"
	}
	return server.Send(&pulumirpc.InstallDependenciesResponse{Stdout: []byte(msg)})
}

// About reports the node executable, its version and the package manager.
func (h *Host) About(ctx context.Context, req *pulumirpc.AboutRequest) (*pulumirpc.AboutResponse, error) {
	opts, err := ParseOptions(req.GetInfo().GetOptions().AsMap())
	if err != nil {
		return nil, fmt.Errorf("failed to parse options: %w", err)
	}
	nodeBin, err := exec.LookPath(h.Node)
	if err != nil {
		return nil, fmt.Errorf("could not find executable %q: %w", h.Node, err)
	}
	dir := req.GetInfo().GetProgramDirectory()
	metadata := map[string]string{"packagemanager": packageManager(opts.PackageManager, dir)}
	var nodeVersion string
	if out, err := exec.CommandContext(ctx, nodeBin, "--version").Output(); err == nil {
		nodeVersion = strings.TrimSpace(string(out))
	}
	ts := exec.CommandContext(ctx, nodeBin, "-e", "console.log(require('typescript/package.json').version)")
	ts.Dir = dir
	if out, err := ts.Output(); err == nil {
		metadata["typescriptVersion"] = strings.TrimSpace(string(out))
	}
	return &pulumirpc.AboutResponse{Executable: nodeBin, Version: nodeVersion, Metadata: metadata}, nil
}

// GetProgramDependencies lists the program's npm dependencies from package.json and node_modules.
func (h *Host) GetProgramDependencies(_ context.Context, req *pulumirpc.GetProgramDependenciesRequest,
) (*pulumirpc.GetProgramDependenciesResponse, error) {
	deps, err := ProgramDependencies(req.GetInfo().GetProgramDirectory(), req.GetTransitiveDependencies())
	if err != nil {
		return nil, fmt.Errorf("failed to get node dependencies: %w", err)
	}
	out := make([]*pulumirpc.DependencyInfo, len(deps))
	for i, d := range deps {
		out[i] = &pulumirpc.DependencyInfo{Name: d.Name, Version: d.Version}
	}
	return &pulumirpc.GetProgramDependenciesResponse{Dependencies: out}, nil
}

// RuntimeOptionsPrompts asks nothing.
func (h *Host) RuntimeOptionsPrompts(context.Context, *pulumirpc.RuntimeOptionsRequest,
) (*pulumirpc.RuntimeOptionsResponse, error) {
	return &pulumirpc.RuntimeOptionsResponse{}, nil
}

// Cancel stops a running program.
func (h *Host) Cancel(context.Context, *emptypb.Empty) (*emptypb.Empty, error) {
	h.cancel()
	return &emptypb.Empty{}, nil
}
