// Command pulumi-resource-random is a native stand-in for the random provider plugin (@pulumi/random 4.21.1),
// implementing random:index/randomPassword:RandomPassword.
package main

import (
	"github.com/pulumi/pulumi/sdk/v3/go/common/util/cmdutil"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi/provider"
	pulumirpc "github.com/pulumi/pulumi/sdk/v3/proto/go"

	"platform.local/engine/toolchain/internal/randomprovider"
)

func main() {
	err := provider.Main("random", func(*provider.HostClient) (pulumirpc.ResourceProviderServer, error) {
		return randomprovider.New(), nil
	})
	if err != nil {
		cmdutil.ExitError(err.Error())
	}
}
