// Injected into the CommonJS CLI bundle (scripts/bundle-cli.mjs): the value of import.meta.url
// there (require and __filename are CommonJS's own).
export const importMetaUrl = require('node:url').pathToFileURL(__filename).href;
