// Command pulumi-resource-docker is a Pulumi resource provider plugin for @pulumi/docker 5.0.0 programs that
// runs the real Terraform docker provider (kreuzwerker/terraform-provider-docker) in-process, the way the
// Pulumi Terraform bridge does, for machines where the official plugin cannot be downloaded.
package main

import (
	"fmt"
	"io"
	"log"
	"os"

	"github.com/pulumi/pulumi/sdk/v3/go/pulumi/provider"
	pulumirpc "github.com/pulumi/pulumi/sdk/v3/proto/go"
	tfprovider "github.com/terraform-providers/terraform-provider-docker/internal/provider"

	"github.com/terraform-providers/terraform-provider-docker/pulumibridge/bridge"
)

func main() {
	if len(os.Args) == 2 && (os.Args[1] == "-version" || os.Args[1] == "--version") {
		fmt.Println(bridge.PackageVersion)
		return
	}
	// The Terraform provider logs through the standard logger; keep it quiet unless TF_LOG asks for it.
	if os.Getenv("TF_LOG") == "" {
		log.SetOutput(io.Discard)
	}
	err := provider.Main(bridge.PackageName, func(host *provider.HostClient) (pulumirpc.ResourceProviderServer, error) {
		return bridge.NewProvider(host, tfprovider.New("pulumi-"+bridge.PackageVersion)())
	})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}
