/** What `Starting …`, `Stopped …` and `-v` print. keepalived prints `Keepalived v2.2.7 (01/16,2022)`. */
export const VERSION = 'Keepalived-ts v0.1.0 (keepalived 2.2.7 compatible)'
