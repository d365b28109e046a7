import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { describe, it } from "node:test";
import { Command, View, routeServerCommand } from "../../src/contributions";
import { ServerCommand } from "../../src/protocol";

interface Manifest {
  engines: { vscode: string };
  activationEvents: string[];
  main: string;
  capabilities: { untrustedWorkspaces: { supported: string | boolean; restrictedConfigurations: string[] } };
  contributes: {
    commands: { command: string; title: string; category?: string }[];
    views: Record<string, { id: string; name: string }[]>;
    menus: Record<string, { command: string }[]>;
    configuration: { properties: Record<string, unknown> };
  };
}

const manifest = JSON.parse(fs.readFileSync(path.resolve(__dirname, "../../../package.json"), "utf8")) as Manifest;

describe("the extension manifest", () => {
  it("puts every command in the palette as 'Oompa: ...'", () => {
    const contributed = new Map(manifest.contributes.commands.map((c) => [c.command, c]));
    for (const id of Object.values(Command)) {
      assert.equal(contributed.get(id)?.category, "Oompa", `${id} has category Oompa`);
    }
    assert.deepEqual(
      manifest.contributes.commands.map((c) => c.title).sort(),
      [
        "Add Comment",
        "Approve Review",
        "Delete Comment",
        "Include in Request for Changes",
        "Leave out of Request for Changes",
        "Open Review Diff",
        "Request Changes",
        "Requeue Task",
        "Resolve Finding",
        "Restart Server",
        "Resume Merge Queue",
        "Show Logs",
        "Show Review Summary",
        "Show Run Report",
        "Show Status",
        "Start Swarm",
        "Stop Swarm",
      ],
    );
  });

  it("uses client command ids that cannot collide with the server's", () => {
    const serverIds = new Set<string>(Object.values(ServerCommand));
    for (const { command } of manifest.contributes.commands) {
      assert.ok(!serverIds.has(command) && !command.startsWith("oompa."), `${command} is a client-side id`);
    }
  });

  it("only refers, in menus, to commands it contributes", () => {
    const contributed = new Set(manifest.contributes.commands.map((c) => c.command));
    for (const [menu, items] of Object.entries(manifest.contributes.menus)) {
      for (const item of items) {
        assert.ok(contributed.has(item.command), `${menu} refers to ${item.command}`);
      }
    }
  });

  it("declares the three views in its own container", () => {
    assert.deepEqual(manifest.contributes.views.oompa?.map((v) => v.id), Object.values(View));
  });

  it("activates on a workspace with oompa.json or spec.md and stays within code-server's VS Code", () => {
    assert.deepEqual(manifest.activationEvents, ["workspaceContains:oompa.json", "workspaceContains:spec.md"]);
    assert.equal(manifest.engines.vscode, "^1.100.0");
    assert.equal(manifest.main, "./dist/extension.js");
  });

  it("limits itself in untrusted workspaces and protects the server command setting", () => {
    assert.equal(manifest.capabilities.untrustedWorkspaces.supported, "limited");
    assert.deepEqual(manifest.capabilities.untrustedWorkspaces.restrictedConfigurations, ["oompa.server.command"]);
    assert.ok("oompa.server.command" in manifest.contributes.configuration.properties);
  });
});

describe("server commands run from code lenses", () => {
  it("go through the client's commands where the editor adds something", () => {
    assert.deepEqual(routeServerCommand(ServerCommand.openDiff, ["r1"]), [Command.openReviewDiff, ["r1"]]);
    assert.deepEqual(routeServerCommand(ServerCommand.reject, ["r1"]), [Command.rejectReview, ["r1"]]);
    assert.deepEqual(routeServerCommand(ServerCommand.startSwarm, []), [Command.startSwarm, []]);
    assert.deepEqual(routeServerCommand(ServerCommand.requeue, ["t1"]), [Command.requeueTask, ["t1"]]);
  });

  it("go to the server as they are otherwise", () => {
    assert.equal(routeServerCommand(ServerCommand.reject, ["r1", "feedback given"]), undefined);
    assert.equal(routeServerCommand(ServerCommand.cancelTask, ["t1"]), undefined);
    assert.equal(routeServerCommand(ServerCommand.tickItem, ["t1"]), undefined);
    assert.equal(routeServerCommand(ServerCommand.approve, []), undefined);
  });
});
