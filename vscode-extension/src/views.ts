/**
 * The Workers, Tasks and Reviews tree views: VS Code adapters over the descriptors of
 * trees.ts. Roots are recomputed from the mirror on every refresh; a review's files are
 * fetched from the server when the review is expanded.
 */

import * as vscode from "vscode";
import type { TreeNode } from "./trees";

export class NodeTreeProvider implements vscode.TreeDataProvider<TreeNode>, vscode.Disposable {
  private readonly changed = new vscode.EventEmitter<TreeNode | undefined>();
  readonly onDidChangeTreeData = this.changed.event;

  constructor(
    private readonly roots: () => TreeNode[],
    private readonly expand: (node: TreeNode) => Promise<TreeNode[]> = () => Promise.resolve([]),
  ) {}

  refresh(): void {
    this.changed.fire(undefined);
  }

  getTreeItem(node: TreeNode): vscode.TreeItem {
    const item = new vscode.TreeItem(node.label, COLLAPSIBLE[node.collapsible]);
    item.id = node.id;
    item.contextValue = node.contextValue;
    if (node.description !== undefined) {
      item.description = node.description;
    }
    if (node.tooltip !== undefined) {
      item.tooltip = node.tooltip;
    }
    if (node.icon !== undefined) {
      const [icon, color] = node.icon;
      item.iconPath = new vscode.ThemeIcon(icon, color === undefined ? undefined : new vscode.ThemeColor(color));
    }
    if (node.command !== undefined) {
      item.command = node.command;
    }
    return item;
  }

  async getChildren(node?: TreeNode): Promise<TreeNode[]> {
    if (node === undefined) {
      return this.roots();
    }
    return node.children ?? this.expand(node);
  }

  dispose(): void {
    this.changed.dispose();
  }
}

const COLLAPSIBLE: Record<TreeNode["collapsible"], vscode.TreeItemCollapsibleState> = {
  none: vscode.TreeItemCollapsibleState.None,
  collapsed: vscode.TreeItemCollapsibleState.Collapsed,
  expanded: vscode.TreeItemCollapsibleState.Expanded,
};
