import { existsSync, mkdtempSync, rmSync, symlinkSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

/** A gateway to run: the source tree its `src/main.ts` comes from, and how to name it in the tables. */
export interface Checkout {
  label: string;
  /** Commit (short) the tree was checked out at; for the working tree, HEAD and whether it differs. */
  commit: string;
  root: string;
  remove(): Promise<void>;
}

async function git(cwd: string, ...args: string[]): Promise<string> {
  const p = Bun.spawn(["git", ...args], { cwd, stdout: "pipe", stderr: "pipe" });
  const [out, err] = await Promise.all([new Response(p.stdout).text(), new Response(p.stderr).text()]);
  if ((await p.exited) !== 0) throw new Error(`git ${args.join(" ")}: ${err.trim() || out.trim()}`);
  return out.trim();
}

/** The tree the bench runs from (the "after" side): its HEAD, marked `+changes` when it has uncommitted edits under src/ or workers/. */
export async function currentCheckout(root: string): Promise<Checkout> {
  const head = await git(root, "rev-parse", "--short", "HEAD");
  const dirty = (await git(root, "status", "--porcelain", "--", "src", "workers")) !== "";
  const commit = dirty ? `${head}+changes` : head;
  return { label: `after (${commit})`, commit, root, remove: async () => {} };
}

/**
 * A second checkout of `ref` (the "before" side) as a detached git worktree in a temp dir, sharing
 * this tree's node_modules by a symlink: nothing is installed, so both sides run the same
 * dependencies and the same Bun, and only the gateway's own code differs. remove() deletes it.
 */
export async function baselineCheckout(root: string, ref: string): Promise<Checkout> {
  const commit = await git(root, "rev-parse", "--short", `${ref}^{commit}`);
  const dir = mkdtempSync(join(tmpdir(), "smx-bench-base-"));
  const tree = join(dir, "tree");
  await git(root, "worktree", "add", "--detach", tree, commit);
  const remove = async () => {
    await git(root, "worktree", "remove", "--force", tree).catch(() => {});
    rmSync(dir, { recursive: true, force: true });
    await git(root, "worktree", "prune").catch(() => {});
  };
  try {
    if (!existsSync(join(tree, "src", "main.ts"))) throw new Error(`${ref} (${commit}) has no src/main.ts to run`);
    symlinkSync(join(root, "node_modules"), join(tree, "node_modules"), "dir");
  } catch (e) {
    await remove();
    throw e;
  }
  return { label: `before (${commit})`, commit, root: tree, remove };
}
