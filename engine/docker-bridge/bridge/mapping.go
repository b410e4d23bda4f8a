package bridge

// This file is the provider's mapping table: DATA only, no logic. It plays the role that
// provider/resources.go (tfbridge.ProviderInfo) plays in pulumi/pulumi-docker v5.0.0: which Terraform
// resources are exposed under which Pulumi tokens, and the handful of names and behaviours that deviate
// from the generic rules in naming.go (snake_case -> camelCase, lists/sets pluralised, MaxItems=1 blocks
// flattened to a single object, "name" auto-named).
//
// Every entry was checked against @pulumi/docker 5.0.0 (see names_test.go, which compares the names this
// table produces, nested ones included, with node_modules/@pulumi/docker/**/*.d.ts).

// PackageName is the Pulumi package name; PackageVersion is the version we report to the engine so it never
// tries to download the official plugin for the @pulumi/docker 5.0.0 SDK.
const (
	PackageName    = "docker"
	PackageVersion = "5.0.0"
)

// Autonaming: like pulumi-docker's prov.SetAutonaming(255, "-"), every resource whose Terraform schema has an
// input string attribute literally called "name" (and no override for it below) gets a generated name
// "<resource name>-<7 random hex chars>" when the program gives none, and that name becomes optional.
const (
	AutonameMaxLength = 255
	AutonameSeparator = "-"
	AutonameRandLen   = 7
)

// FieldInfo overrides how one Terraform attribute is projected into Pulumi.
type FieldInfo struct {
	// Name is the Pulumi property name, replacing the generic camelCase/plural name.
	Name string
	// MaxItemsOne overrides whether a list/set is flattened to a single value (nil: flatten iff MaxItems == 1).
	MaxItemsOne *bool
	// Fields holds overrides for the attributes of a nested block.
	Fields map[string]*FieldInfo
	// DefaultEnvVars / DefaultFunc give a Pulumi-side default when no value is set (provider config only).
	DefaultEnvVars []string
	DefaultFunc    func() interface{}
	// RemoveDefault drops the Terraform schema default of the attribute (pulumi-docker patches upstream the same).
	RemoveDefault bool
}

// ResourceInfo maps one Terraform resource type to its Pulumi resource.
type ResourceInfo struct {
	Token string
	// DeleteBeforeReplace: always delete the old resource before creating its replacement.
	DeleteBeforeReplace bool
	Fields              map[string]*FieldInfo
}

func boolPtr(b bool) *bool { return &b }

// ProviderConfig are the overrides for the provider's configuration (pulumi:providers:docker).
var ProviderConfig = map[string]*FieldInfo{
	"host": {
		DefaultEnvVars: []string{"DOCKER_HOST"},
		DefaultFunc:    defaultDockerHost,
	},
	"registry_auth": {
		Name:        "registryAuth", // not plural
		MaxItemsOne: boolPtr(false),
	},
}

// Resources maps Terraform resource types to Pulumi resources.
var Resources = map[string]*ResourceInfo{
	"docker_config": {Token: "docker:index/serviceConfig:ServiceConfig"},
	"docker_container": {
		Token:               "docker:index/container:Container",
		DeleteBeforeReplace: true,
		Fields: map[string]*FieldInfo{
			// A list, but a single command: not pluralised.
			"command": {Name: "command"},
			// Plural in meaning already: not pluralised.
			"networks_advanced": {Name: "networksAdvanced"},
		},
	},
	"docker_image": {
		Token: "docker:index/remoteImage:RemoteImage",
		// An explicit entry for "name" also means RemoteImage.name is not auto-named (it names the image).
		Fields: map[string]*FieldInfo{"name": {Name: "name"}},
	},
	"docker_network": {Token: "docker:index/network:Network"},
	"docker_secret":  {Token: "docker:index/secret:Secret"},
	"docker_service": {
		Token: "docker:index/service:Service",
		// pulumi-docker 5.0.0 ships upstream with patches/0002-Remove-service-default.patch: mode.global has no
		// default (a default false would sit next to mode.replicated, which it conflicts with).
		Fields: map[string]*FieldInfo{
			"mode": {Fields: map[string]*FieldInfo{"global": {RemoveDefault: true}}},
		},
	},
	"docker_volume":         {Token: "docker:index/volume:Volume"},
	"docker_registry_image": {Token: "docker:index/registryImage:RegistryImage"},
	"docker_plugin":         {Token: "docker:index/plugin:Plugin"},
	"docker_tag":            {Token: "docker:index/tag:Tag"},
	"docker_buildx_builder": {Token: "docker:index/buildxBuilder:BuildxBuilder"},
}

// IgnoredConfigKeys are provider inputs the engine adds that are not Terraform configuration.
var IgnoredConfigKeys = []string{"version", "pluginDownloadURL"}

// UpstreamOnlyAttributes lists Terraform attributes of the upstream provider this plugin is built from that
// @pulumi/docker 5.0.0 does not declare (the upstream moved on since 5.0.0 was generated). They keep working
// under their generic names; names_test.go fails on any difference with the npm types not listed here.
// Paths use Terraform names, nested blocks separated by ".".
var UpstreamOnlyAttributes = map[string][]string{
	"docker_container":      {"device_cgroup_rules", "upload.owner", "upload.group"},
	"docker_config":         {"data_raw"},
	"docker_image":          {"build.provenance", "build.sbom"},
	"docker_registry_image": {"build.provenance", "build.sbom"},
	"docker_service":        {"task_spec.container_spec.init"},
}

// UpstreamNowOptional lists attributes @pulumi/docker 5.0.0 declares required that the upstream provider has
// made optional since (the plugin accepts what upstream accepts).
var UpstreamNowOptional = map[string][]string{
	"docker_config": {"data"}, // exactly one of data / data_raw
}
