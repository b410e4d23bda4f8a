import { describe, expect, it } from "vitest";
import { resourceOptions } from "../components/resource-options";

describe("resource options decide what happens to data and traffic", () => {
  it("database volumes are always retained, and protected where data is protected", () => {
    expect(resourceOptions.dataVolume(true)).toEqual({ retainOnDelete: true, protect: true });
    expect(resourceOptions.dataVolume(false)).toEqual({ retainOnDelete: true, protect: false });
  });

  it("a preview's database volumes go with the preview: neither retained nor protected", () => {
    expect(resourceOptions.dataVolume(false, true)).toEqual({ retainOnDelete: false, protect: false });
    expect(resourceOptions.dataVolume(true, true)).toEqual({ retainOnDelete: false, protect: false });
  });

  it("a database container is deleted before its replacement starts (never two on one volume)", () => {
    expect(resourceOptions.databaseContainer()).toMatchObject({ deleteBeforeReplace: true });
    // A restored volume replaces the container (the provider alone would update mounts in place, a no-op).
    expect(resourceOptions.databaseContainer().replaceOnChanges).toEqual(["mounts"]);
  });

  it("an app container's replacement starts before the old one is deleted", () => {
    expect(resourceOptions.serviceContainer()).toMatchObject({ deleteBeforeReplace: false });
  });

  it("container environments are stored as secrets", () => {
    expect(resourceOptions.serviceContainer().additionalSecretOutputs).toContain("envs");
    expect(resourceOptions.databaseContainer().additionalSecretOutputs).toContain("envs");
  });

  it("Traefik's ACME storage is retained and Traefik itself never runs twice", () => {
    expect(resourceOptions.edgeVolume()).toEqual({ retainOnDelete: true });
    expect(resourceOptions.edgeContainer()).toEqual({ deleteBeforeReplace: false });
    expect(resourceOptions.ingressAttachment()).toEqual({ deleteBeforeReplace: true });
  });
});
