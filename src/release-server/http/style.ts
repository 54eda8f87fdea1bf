/**
 * The package browser's one stylesheet, served by the server itself at `STYLESHEET_PATH` (the
 * pages' Content-Security-Policy allows styles from the server only: no inline style, no CDN, no
 * script). Pages link it with `?v=` and a digest of the content, so it can be cached for good and
 * a changed stylesheet is a new URL. Colours keep a contrast of at least 4.5:1 against their background.
 */
import { sha256Hex } from "../../shared/hash.ts";

export const STYLESHEET = `:root{color-scheme:light;--fg:#1f2328;--muted:#4f5863;--line:#d1d9e0;--soft:#f6f8fa;--link:#0550ae}
*{box-sizing:border-box}
body{font:15px/1.5 system-ui,-apple-system,"Segoe UI",sans-serif;color:var(--fg);background:#fff;margin:0}
a{color:var(--link)}a:focus-visible{outline:2px solid var(--link);outline-offset:2px}
header.site,main,footer.site{max-width:64rem;margin:0 auto;padding:0 1rem}
header.site{padding-top:1rem;padding-bottom:.5rem;border-bottom:1px solid var(--line);margin-bottom:1rem}
header.site nav ol{list-style:none;display:flex;flex-wrap:wrap;gap:.4rem;margin:0;padding:0}
header.site nav li+li::before{content:"/";margin-right:.4rem;color:var(--muted)}
footer.site{color:var(--muted);font-size:13px;border-top:1px solid var(--line);margin-top:2rem;padding-top:.5rem;padding-bottom:1rem}
h1{font-size:1.6rem;margin:.2rem 0 .6rem}h2{font-size:1.25rem;margin:1.4rem 0 .4rem}h3{font-size:1.05rem}
.muted,.meta{color:var(--muted)}.meta{font-size:13px;margin:.2rem 0 .6rem}
code,pre{font:13px/1.45 ui-monospace,SFMono-Regular,Menlo,Consolas,monospace}
pre{background:var(--soft);border:1px solid var(--line);border-radius:6px;padding:.5rem .7rem;white-space:pre-wrap;overflow-wrap:anywhere}
code.digest{word-break:break-all}
.table{overflow-x:auto;margin:.4rem 0 1rem}.table:focus-visible{outline:2px solid var(--link)}
table{border-collapse:collapse;width:100%}
th,td{padding:.35rem .5rem;border-bottom:1px solid var(--line);text-align:left;vertical-align:top;overflow-wrap:break-word}
th{background:var(--soft);font-weight:600;white-space:nowrap}
td.num,th.num,.al-r{text-align:right}.num{white-space:nowrap}.al-c{text-align:center}
.badge{display:inline-block;font-size:12px;line-height:1.6;font-weight:600;padding:0 .5rem;border:1px solid currentColor;border-radius:1rem;margin-left:.3rem;vertical-align:middle}
.badge.latest,.status.valid{color:#116329;background:#dafbe1}
.badge.draft{color:#6e4c00;background:#fff8c5}
.badge.prerelease{color:#953800;background:#fff1e5}
.badge.private{color:#4f5863;background:#f6f8fa}
.badge.channel{color:#0550ae;background:#ddf4ff}
.status{font-weight:600;padding:0 .3rem;border-radius:4px}
.status.invalid{color:#82071e;background:#ffebe9}.status.unchecked{color:#4f5863;background:#eef1f4}
section.release{border:1px solid var(--line);border-radius:8px;padding:.2rem 1rem .4rem;margin:1rem 0}
section.release>h2,section.release>h1{margin-top:.6rem}
.notes{margin:.5rem 0 1rem}.notes blockquote{border-left:3px solid var(--line);margin:0;padding-left:1rem;color:var(--muted)}
.notes .raw-html{color:var(--muted)}.notes .unsafe-link{text-decoration:underline dotted}
.install{margin:.6rem 0 1rem}.install p{margin:.2rem 0}
ul.apps{list-style:none;padding:0}ul.apps>li{border:1px solid var(--line);border-radius:8px;padding:.5rem 1rem;margin:.6rem 0}
ul.apps h2{margin:.2rem 0}
nav.pages{display:flex;gap:1rem;align-items:center;margin:1rem 0}
@media (max-width:40rem){
.table.files thead{position:absolute;width:1px;height:1px;overflow:hidden;clip-path:inset(50%)}
.table.files table,.table.files tbody,.table.files tr,.table.files td{display:block}
.table.files tr{border-bottom:1px solid var(--line);padding:.4rem 0}
.table.files td{border:0;padding:.05rem .5rem;text-align:left}
.table.files td[data-label]::before{content:attr(data-label) ": ";color:var(--muted);font-weight:600}
}
.vh{position:absolute;width:1px;height:1px;overflow:hidden;clip-path:inset(50%);white-space:nowrap}
`;

export const STYLESHEET_PATH = "/static/site.css";
export const STYLESHEET_VERSION = sha256Hex(STYLESHEET).slice(0, 16);
