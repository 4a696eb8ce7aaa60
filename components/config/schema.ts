// The one config schema of both stacks, split by area; every name the program imports from here stays here.
export * from "./common";
export * from "./edge";
export * from "./home";
export * from "./parsing";
export * from "./services";
export * from "./tailnet";
