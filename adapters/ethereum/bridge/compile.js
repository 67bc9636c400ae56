#!/usr/bin/env node
// Compiles EntenteBridge.sol with solc-js and writes {"abi": [...], "bytecode": "0x..."}.
// Usage: node compile.js OUT.json
'use strict';

const fs = require('fs');
const path = require('path');
const solc = require('solc');

const SOURCE = 'EntenteBridge.sol';
const CONTRACT = 'EntenteBridge';

function main(argv) {
  if (argv.length !== 1) {
    process.stderr.write('usage: node compile.js OUT.json\n');
    return 2;
  }
  const out = argv[0];
  const input = {
    language: 'Solidity',
    sources: {
      [SOURCE]: { content: fs.readFileSync(path.join(__dirname, SOURCE), 'utf8') },
    },
    settings: {
      // ganache 7 runs at most the shanghai hardfork (no cancun opcodes such as MCOPY).
      evmVersion: 'shanghai',
      optimizer: { enabled: true, runs: 200 },
      outputSelection: { [SOURCE]: { [CONTRACT]: ['abi', 'evm.bytecode.object', 'evm.methodIdentifiers'] } },
    },
  };
  const output = JSON.parse(solc.compile(JSON.stringify(input)));
  const errors = (output.errors || []).filter((e) => e.severity === 'error');
  for (const e of output.errors || []) {
    if (e.severity !== 'error') process.stderr.write(e.formattedMessage || e.message);
  }
  if (errors.length > 0) {
    for (const e of errors) process.stderr.write((e.formattedMessage || e.message) + '\n');
    process.stderr.write(`compile.js: ${errors.length} error(s) from solc ${solc.version()}\n`);
    return 1;
  }
  const c = output.contracts && output.contracts[SOURCE] && output.contracts[SOURCE][CONTRACT];
  if (!c || !c.evm || !c.evm.bytecode || !c.evm.bytecode.object) {
    process.stderr.write(`compile.js: solc produced no bytecode for ${CONTRACT}\n`);
    return 1;
  }
  const artifact = { abi: c.abi, bytecode: '0x' + c.evm.bytecode.object };
  fs.writeFileSync(out, JSON.stringify(artifact, null, 2) + '\n');
  return 0;
}

process.exitCode = main(process.argv.slice(2));
