// Package commandprovider implements command:local:Command natively, following pulumi-command 1.2.1
// (provider/pkg/provider/local): create runs on create, update (or create when update is unset) on an update,
// delete on delete; only a change of triggers forces replacement; nothing runs during preview.
package commandprovider

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"sync"

	"google.golang.org/protobuf/types/known/emptypb"

	"github.com/pulumi/pulumi/sdk/v3/go/common/diag"
	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
	pulumirpc "github.com/pulumi/pulumi/sdk/v3/proto/go"

	"platform.local/engine/toolchain/internal/provutil"
)

const (
	// Version is the @pulumi/command release whose provider this one stands in for.
	Version = "1.2.1"
	// CommandType is the only resource type implemented.
	CommandType = "command:local:Command"
)

// inputKeys are local.Command's inputs (local/command.d.ts).
var inputKeys = []string{
	"addPreviousOutputInEnv", "archivePaths", "assetPaths", "create", "delete", "dir", "environment",
	"interpreter", "logging", "stdin", "triggers", "update",
}

// replaceKeys force replacement when changed (upstream: `provider:"replaceOnChanges"` on triggers only).
var replaceKeys = []string{"triggers"}

// Logger receives the command's output lines as status messages, as upstream logs them (nil: no logging).
type Logger interface {
	LogStatus(ctx context.Context, sev diag.Severity, urn resource.URN, msg string) error
}

// Provider is the local.Command resource provider.
type Provider struct {
	provutil.Base
	log Logger
}

// New returns the provider; log may be nil.
func New(log Logger) *Provider {
	return &Provider{Base: provutil.Base{Name: "command", Version: Version}, log: log}
}

// Check validates input keys and types.
func (p *Provider) Check(_ context.Context, req *pulumirpc.CheckRequest) (*pulumirpc.CheckResponse, error) {
	if err := provutil.CheckType(req.GetType(), req.GetUrn(), CommandType); err != nil {
		return nil, err
	}
	news, err := provutil.Unmarshal(req.GetNews(), "news")
	if err != nil {
		return nil, err
	}
	failures := provutil.UnknownKeys(CommandType, news, inputKeys)
	failures = append(failures, validate(news)...)
	if len(failures) > 0 {
		return &pulumirpc.CheckResponse{Failures: failures}, nil
	}
	return &pulumirpc.CheckResponse{Inputs: req.GetNews()}, nil
}

func validate(news resource.PropertyMap) []*pulumirpc.CheckFailure {
	var failures []*pulumirpc.CheckFailure
	for _, k := range news.StableKeys() {
		v := provutil.Unsecret(news[k])
		if v.IsNull() || v.IsComputed() {
			continue
		}
		key := string(k)
		switch key {
		case "create", "update", "delete", "dir", "stdin":
			if !v.IsString() {
				failures = append(failures, provutil.Failure(key, "%s must be a string, got %v", key, v))
			}
		case "addPreviousOutputInEnv":
			if !v.IsBool() {
				failures = append(failures, provutil.Failure(key, "%s must be a boolean, got %v", key, v))
			}
		case "logging":
			if !v.IsString() || !map[string]bool{"stdout": true, "stderr": true, "stdoutAndStderr": true,
				"none": true}[v.StringValue()] {
				failures = append(failures, provutil.Failure(key,
					"logging must be one of stdout, stderr, stdoutAndStderr, none; got %v", v))
			}
		case "interpreter":
			if !isStringArray(v) {
				failures = append(failures, provutil.Failure(key, "interpreter must be a list of strings, got %v", v))
			}
		case "environment":
			if !v.IsObject() {
				failures = append(failures, provutil.Failure(key, "environment must be a map of strings, got %v", v))
				continue
			}
			for ek, ev := range v.ObjectValue() {
				if !ev.IsString() && !ev.IsComputed() {
					failures = append(failures, provutil.Failure(key+"."+string(ek),
						"environment values must be strings, got %v", ev))
				}
			}
		case "triggers":
			if !v.IsArray() {
				failures = append(failures, provutil.Failure(key, "triggers must be a list, got %v", v))
			}
		case "assetPaths", "archivePaths":
			failures = append(failures, provutil.Failure(key,
				"%s is not supported by this build of the command provider (platform engine/toolchain)", key))
		}
	}
	return failures
}

func isStringArray(v resource.PropertyValue) bool {
	if !v.IsArray() {
		return false
	}
	for _, e := range v.ArrayValue() {
		if e = provutil.Unsecret(e); !e.IsString() && !e.IsComputed() {
			return false
		}
	}
	return true
}

// Diff reports changed inputs; a change of triggers is a replacement, any other change an update.
func (p *Provider) Diff(_ context.Context, req *pulumirpc.DiffRequest) (*pulumirpc.DiffResponse, error) {
	if err := provutil.CheckType(req.GetType(), req.GetUrn(), CommandType); err != nil {
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
	return provutil.DiffResponse(olds, news, changed, false, replaceKeys...), nil
}

// spec is a command invocation decoded from (secret-free) properties.
type spec struct {
	interpreter    []string
	dir            string
	env            []string
	stdin          string
	logStdout      bool
	logStderr      bool
	addPrevious    bool
	prevStdout     string
	prevStderr     string
	create, update string
	delete         string
}

func decode(props resource.PropertyMap) spec {
	m := provutil.UnsecretMap(props)
	str := func(k resource.PropertyKey) string {
		if v := m[k]; v.IsString() {
			return v.StringValue()
		}
		return ""
	}
	s := spec{
		dir: str("dir"), stdin: str("stdin"), create: str("create"), update: str("update"), delete: str("delete"),
		prevStdout: str("stdout"), prevStderr: str("stderr"), logStdout: true, logStderr: true, addPrevious: true,
	}
	if v := m["interpreter"]; v.IsArray() {
		for _, e := range v.ArrayValue() {
			if e.IsString() {
				s.interpreter = append(s.interpreter, e.StringValue())
			}
		}
	}
	if v := m["environment"]; v.IsObject() {
		env := v.ObjectValue()
		for _, k := range env.StableKeys() {
			if env[k].IsString() {
				s.env = append(s.env, string(k)+"="+env[k].StringValue())
			}
		}
	}
	if v := m["addPreviousOutputInEnv"]; v.IsBool() {
		s.addPrevious = v.BoolValue()
	}
	switch str("logging") {
	case "stdout":
		s.logStderr = false
	case "stderr":
		s.logStdout = false
	case "none":
		s.logStdout, s.logStderr = false, false
	}
	return s
}

// lineLogger forwards complete lines to the engine as info status messages.
type lineLogger struct {
	ctx context.Context
	log Logger
	urn resource.URN
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *lineLogger) Write(b []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.buf.Write(b)
	for {
		line, err := l.buf.ReadString('\n')
		if err != nil { // incomplete line: keep it for the next write
			l.buf.Reset()
			l.buf.WriteString(line)
			return len(b), nil
		}
		_ = l.log.LogStatus(l.ctx, diag.Info, l.urn, strings.TrimSuffix(line, "\n"))
	}
}

func (l *lineLogger) flush() {
	l.mu.Lock()
	defer l.mu.Unlock()
	if rest := l.buf.String(); rest != "" {
		_ = l.log.LogStatus(l.ctx, diag.Info, l.urn, rest)
	}
	l.buf.Reset()
}

type syncWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (s *syncWriter) Write(b []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.w.Write(b)
}

// run executes command like upstream's local run: interpreter (default /bin/sh -c) + command, in dir (default: the
// provider's working directory, which the engine sets to the program directory), with the environment added to
// the provider's own and PULUMI_COMMAND_STDOUT/STDERR from the previous run. It returns trimmed stdout and stderr.
func (p *Provider) run(ctx context.Context, urn resource.URN, command string, s spec) (string, string, error) {
	args := []string{"/bin/sh", "-c"}
	if len(s.interpreter) > 0 {
		args = append([]string(nil), s.interpreter...)
	}
	args = append(args, command)

	var stdout, stderr, combined bytes.Buffer
	comb := &syncWriter{w: &combined}
	outW := []io.Writer{&stdout, comb}
	errW := []io.Writer{&stderr, comb}
	var logger *lineLogger
	if p.log != nil && (s.logStdout || s.logStderr) {
		logger = &lineLogger{ctx: ctx, log: p.log, urn: urn}
		if s.logStdout {
			outW = append(outW, logger)
		}
		if s.logStderr {
			errW = append(errW, logger)
		}
	}

	cmd := exec.CommandContext(ctx, args[0], args[1:]...) //nolint:gosec // running user commands is the point
	cmd.Stdout = io.MultiWriter(outW...)
	cmd.Stderr = io.MultiWriter(errW...)
	cmd.Dir = s.dir
	if cmd.Dir == "" {
		wd, err := os.Getwd()
		if err != nil {
			return "", "", err
		}
		cmd.Dir = wd
	}
	cmd.Env = append(os.Environ(), s.env...)
	if s.addPrevious {
		if s.prevStdout != "" {
			cmd.Env = append(cmd.Env, "PULUMI_COMMAND_STDOUT="+s.prevStdout)
		}
		if s.prevStderr != "" {
			cmd.Env = append(cmd.Env, "PULUMI_COMMAND_STDERR="+s.prevStderr)
		}
	}
	if s.stdin != "" {
		cmd.Stdin = strings.NewReader(s.stdin)
	}
	err := cmd.Run()
	if logger != nil {
		logger.flush()
	}
	if err != nil {
		return "", "", fmt.Errorf("%w: running %q:\n%s", err, command, combined.String())
	}
	// Like upstream, drop a single trailing newline.
	return strings.TrimSuffix(stdout.String(), "\n"), strings.TrimSuffix(stderr.String(), "\n"), nil
}

// withOutputs returns inputs plus stdout/stderr, secret if any input is secret.
func withOutputs(inputs resource.PropertyMap, stdout, stderr resource.PropertyValue) resource.PropertyMap {
	state := inputs.Copy()
	if inputs.ContainsSecrets() {
		stdout, stderr = resource.MakeSecret(stdout), resource.MakeSecret(stderr)
	}
	state["stdout"], state["stderr"] = stdout, stderr
	return state
}

func unknownString() resource.PropertyValue {
	return resource.MakeComputed(resource.NewStringProperty(""))
}

func urnName(urn string, name string) string {
	if name != "" {
		return name
	}
	if urn != "" {
		return resource.URN(urn).Name()
	}
	return "command"
}

// Create runs the create command (nothing during preview).
func (p *Provider) Create(ctx context.Context, req *pulumirpc.CreateRequest) (*pulumirpc.CreateResponse, error) {
	if err := provutil.CheckType(req.GetType(), req.GetUrn(), CommandType); err != nil {
		return nil, err
	}
	inputs, err := provutil.Unmarshal(req.GetProperties(), "properties")
	if err != nil {
		return nil, err
	}
	id, err := resource.NewUniqueHex(urnName(req.GetUrn(), req.GetName()), 8, 0)
	if err != nil {
		return nil, err
	}
	var state resource.PropertyMap
	s := decode(inputs)
	switch {
	case req.GetPreview():
		state = withOutputs(inputs, unknownString(), unknownString())
	case s.create == "":
		state = withOutputs(inputs, resource.NewStringProperty(""), resource.NewStringProperty(""))
	default:
		s.prevStdout, s.prevStderr = "", ""
		stdout, stderr, err := p.run(ctx, resource.URN(req.GetUrn()), s.create, s)
		if err != nil {
			return nil, err
		}
		state = withOutputs(inputs, resource.NewStringProperty(stdout), resource.NewStringProperty(stderr))
	}
	props, err := provutil.Marshal(state, "state")
	if err != nil {
		return nil, err
	}
	return &pulumirpc.CreateResponse{Id: id, Properties: props}, nil
}

// Update runs update, or create when update is unset (nothing during preview).
func (p *Provider) Update(ctx context.Context, req *pulumirpc.UpdateRequest) (*pulumirpc.UpdateResponse, error) {
	if err := provutil.CheckType(req.GetType(), req.GetUrn(), CommandType); err != nil {
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
	s := decode(news)
	prev := decode(olds)
	s.prevStdout, s.prevStderr = prev.prevStdout, prev.prevStderr
	command := s.update
	if command == "" {
		command = s.create
	}
	var state resource.PropertyMap
	switch {
	case req.GetPreview():
		state = withOutputs(news, unknownString(), unknownString())
	case command == "":
		state = withOutputs(news, resource.NewStringProperty(prev.prevStdout), resource.NewStringProperty(prev.prevStderr))
	default:
		stdout, stderr, err := p.run(ctx, resource.URN(req.GetUrn()), command, s)
		if err != nil {
			return nil, err
		}
		state = withOutputs(news, resource.NewStringProperty(stdout), resource.NewStringProperty(stderr))
	}
	props, err := provutil.Marshal(state, "state")
	if err != nil {
		return nil, err
	}
	return &pulumirpc.UpdateResponse{Properties: props}, nil
}

// Delete runs the delete command, if any, with the recorded inputs and previous outputs.
func (p *Provider) Delete(ctx context.Context, req *pulumirpc.DeleteRequest) (*emptypb.Empty, error) {
	if err := provutil.CheckType(req.GetType(), req.GetUrn(), CommandType); err != nil {
		return nil, err
	}
	state, err := provutil.Unmarshal(req.GetProperties(), "properties")
	if err != nil {
		return nil, err
	}
	s := decode(state)
	if s.delete != "" {
		if _, _, err := p.run(ctx, resource.URN(req.GetUrn()), s.delete, s); err != nil {
			return nil, err
		}
	}
	return &emptypb.Empty{}, nil
}

// Read returns the recorded state unchanged (a command has nothing to read back), with its inputs.
func (p *Provider) Read(_ context.Context, req *pulumirpc.ReadRequest) (*pulumirpc.ReadResponse, error) {
	if err := provutil.CheckType(req.GetType(), req.GetUrn(), CommandType); err != nil {
		return nil, err
	}
	inputs := req.GetInputs()
	if inputs == nil {
		state, err := provutil.Unmarshal(req.GetProperties(), "properties")
		if err != nil {
			return nil, err
		}
		ins := resource.PropertyMap{}
		for _, k := range inputKeys {
			if v, ok := state[resource.PropertyKey(k)]; ok {
				ins[resource.PropertyKey(k)] = v
			}
		}
		if inputs, err = provutil.Marshal(ins, "inputs"); err != nil {
			return nil, err
		}
	}
	return &pulumirpc.ReadResponse{Id: req.GetId(), Properties: req.GetProperties(), Inputs: inputs}, nil
}
