import { PolicyPack } from "@pulumi/policy";
import { allPolicies } from "./policies";

// Only the pack is built here: its constructor starts the analyzer's gRPC server, so tests import the modules instead.
new PolicyPack("homelab", { policies: allPolicies });
