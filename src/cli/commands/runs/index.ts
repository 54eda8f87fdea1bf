import { defineCommand } from "../../define.ts";

export default defineCommand({
  meta: { name: "runs", description: "List, show and prune runs" },
  subCommands: {
    list: () => import("./list.ts").then((m) => m.default),
    show: () => import("./show.ts").then((m) => m.default),
    prune: () => import("./prune.ts").then((m) => m.default),
  },
});
