/**
 * Where `auditgraph upgrade` must not replace the executable, because something else owns it:
 * a distribution's package (the build's MANAGED flag), Homebrew, a container image, another user,
 * or a location this process cannot write. Each refusal names the command to use instead.
 */
import { accessSync, constants, existsSync, realpathSync, statSync } from "node:fs";
import { dirname } from "node:path";
import { COMPILED, MANAGED } from "../shared/build-info.ts";

type Env = Record<string, string | undefined>;

export interface Refusal {
  code: "managed" | "source" | "homebrew" | "container" | "other_owner" | "unwritable";
  message: string;
  /** The command to use instead. */
  instead: string;
}

const INSTALLER = (base: string) => `curl -fsSL ${base}/releases/latest/download/install.sh | sh -s -- --install-dir "$HOME/.local/bin"`;

/** In a container? The markers docker and podman leave, or the `container` variable podman and systemd-nspawn set. */
export function inContainer(env: Env = process.env): boolean {
  return !!env.container || existsSync("/.dockerenv") || existsSync("/run/.containerenv");
}

/** Why `exe` must not be upgraded in place, or undefined when it may. */
export function refusal(exe: string, base: string, env: Env = process.env): Refusal | undefined {
  if (MANAGED) {
    return { code: "managed", message: `this auditgraph was built for a package manager, which upgrades it`, instead: MANAGED };
  }
  if (!COMPILED) {
    return { code: "source", message: `auditgraph is running from source (${process.argv[1] ?? exe}), not as an installed executable`, instead: "git pull" };
  }
  let real = exe;
  try { real = realpathSync(exe); } catch {}
  const cellar = env.HOMEBREW_CELLAR;
  if (/\/Cellar\/auditgraph\//.test(real) || (cellar && real.startsWith(cellar.replace(/\/*$/, "/")))) {
    return { code: "homebrew", message: `${real} was installed by Homebrew`, instead: "brew upgrade auditgraph" };
  }
  if (inContainer(env) && env.AUDITGRAPH_UPGRADE_IN_CONTAINER !== "1") {
    return {
      code: "container",
      message: "auditgraph is running in a container, whose image a restart would bring back",
      instead: "pull a newer auditgraph image and recreate the container (or set AUDITGRAPH_UPGRADE_IN_CONTAINER=1 to upgrade this copy)",
    };
  }
  const uid = process.getuid?.();
  if (uid !== undefined) {
    const st = statSync(real);
    if (st.uid !== uid) {
      return {
        code: "other_owner",
        message: `${real} belongs to ${st.uid === 0 ? "root" : `uid ${st.uid}`}, not to this user (uid ${uid})`,
        instead: st.uid === 0 ? "sudo auditgraph upgrade" : `sudo -u '#${st.uid}' ${real} upgrade`,
      };
    }
  }
  const dir = dirname(real);
  // The new executable is renamed into the directory: the directory must be writable, not the old
  // file (a read-only executable of this user's, mode 555, is replaced like any other).
  try {
    accessSync(dir, constants.W_OK);
  } catch (e) {
    const why = (e as NodeJS.ErrnoException).code === "EROFS" ? "is on a read-only file system" : "is not writable by this user";
    return { code: "unwritable", message: `${dir} ${why}`, instead: `reinstall into a directory you can write: ${INSTALLER(base)}` };
  }
  return undefined;
}
