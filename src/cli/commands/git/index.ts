import { defineCommand } from "../../define.ts";

export default defineCommand({
  meta: { name: "git", description: "Ask the workspace's git history (read without a git executable): who, log, introduced, history" },
  subCommands: {
    who: () => import("./who.ts").then((m) => m.default),
    log: () => import("./log.ts").then((m) => m.default),
    introduced: () => import("./introduced.ts").then((m) => m.default),
    history: () => import("./history.ts").then((m) => m.default),
  },
});
