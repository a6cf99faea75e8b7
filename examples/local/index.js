// Pulumi runs this file; the program is program.ts, compiled by `npm run build` into dist/.
module.exports = require("../../dist/examples/local/program.js");
