/**
 * isomorphic-git, as an entry point of its own (src/shared/entries.ts): loaded by repo.ts when a
 * repository is first read, so commands that read no repository never load it.
 */
export { default } from "isomorphic-git";
