// Command pulumi-resource-command is a native stand-in for the command provider plugin (@pulumi/command 1.2.1),
// implementing command:local:Command.
package main

import (
	"github.com/pulumi/pulumi/sdk/v3/go/common/util/cmdutil"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi/provider"
	pulumirpc "github.com/pulumi/pulumi/sdk/v3/proto/go"

	"platform.local/engine/toolchain/internal/commandprovider"
)

func main() {
	err := provider.Main("command", func(host *provider.HostClient) (pulumirpc.ResourceProviderServer, error) {
		if host == nil { // attach mode without an engine: no log forwarding
			return commandprovider.New(nil), nil
		}
		return commandprovider.New(host), nil
	})
	if err != nil {
		cmdutil.ExitError(err.Error())
	}
}
