import * as pulumi from "@pulumi/pulumi";
import { readHomeOutputs } from "homelab";

// A project of your own depends on this package ("homelab": "github:<owner>/homelab" or a path; npm builds it on
// install). Here, inside the repository, "homelab" resolves to the repository itself.
//
// Another project reading the homelab's home stack: each output arrives typed and checked, and a missing or
// mistyped one fails with the stack's name and the key.
const home = readHomeOutputs(new pulumi.StackReference("home", { name: new pulumi.Config().require("homeStack") }));

export const serviceUrls = home.serviceUrls;
export const grafanaUrl = home.serviceUrls.apply((urls) => urls.grafana ?? "not in the catalog");
export const lanAddress = home.gatewayLbIp;
