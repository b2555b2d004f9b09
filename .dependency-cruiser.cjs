// Import rules that keep the layers one-way: apps/* → libs/farm → libs/pipeline (→ python/ as a child process).
// Run by test/farm/boundaries.test.ts (so `npm test` fails on a violation) and by `npm run lint:deps`.
/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    {
      name: 'pipeline-no-infrastructure',
      comment: 'libs/pipeline is the paper as a plain library: no Nest, BullMQ, Redis or S3 client.',
      severity: 'error',
      from: { path: '^libs/pipeline/' },
      to: { path: '(^|/)node_modules/(@nestjs/|bullmq|ioredis|@aws-sdk/)' },
    },
    {
      name: 'pipeline-not-above',
      comment: 'libs/pipeline is the bottom layer: it imports neither libs/farm nor an app.',
      severity: 'error',
      from: { path: '^libs/pipeline/' },
      to: { path: '^(libs/farm|apps)/' },
    },
    {
      name: 'offline-not-live',
      comment: 'Offline jobs (job/) do not load the live engine (stream/); code both use lives below both.',
      severity: 'error',
      from: { path: '^libs/pipeline/src/job/' },
      to: { path: '^libs/pipeline/src/stream/' },
    },
    {
      name: 'farm-not-apps',
      comment: 'libs/farm serves the apps; it never imports one.',
      severity: 'error',
      from: { path: '^libs/farm/' },
      to: { path: '^apps/' },
    },
    {
      name: 'apps-not-each-other',
      comment:
        'Each app is its own process; shared code lives in libs/. (So the API never loads the live-session host, ' +
        'apps/streamer, nor the streamer the API: what both need, e.g. stream records and tokens, is in libs/farm.)',
      severity: 'error',
      from: { path: '^apps/([^/]+)/' },
      to: { path: '^apps/', pathNot: '^apps/$1/' },
    },
    {
      name: 'no-circular',
      comment: 'Import circles make load order matter and hide which layer owns what.',
      severity: 'error',
      from: { path: '^(apps|libs)/' },
      to: { circular: true },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    exclude: { path: '^dist/|/browser/' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: { exportsFields: ['exports'], conditionNames: ['require', 'node', 'default'] },
  },
};
