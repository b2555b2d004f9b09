// node:test reporter that counts leaf tests (suites and file wrappers excluded) and writes {passed, failed}.
export default async function* countReporter(source) {
  let passed = 0;
  let failed = 0;
  for await (const event of source) {
    if (event.type !== 'test:pass' && event.type !== 'test:fail') continue;
    const d = event.data;
    if (d.details?.type === 'suite') continue;
    if (d.name === d.file || (d.file && d.nesting === 0 && d.name.endsWith('.js'))) continue;
    if (event.type === 'test:pass') passed += d.skip || d.todo ? 0 : 1;
    else failed += 1;
  }
  yield JSON.stringify({ passed, failed });
}
