/**
 * Entry point the workbench calls inside the extension host (`extensionTestsPath`): runs the
 * API-level tests with mocha and rejects when any fails, which makes the workbench report a
 * non-zero exit code to the driver.
 */

import * as path from "node:path";
import Mocha from "mocha";

export async function run(): Promise<void> {
  const mocha = new Mocha({ ui: "bdd", timeout: 90_000, color: false, reporter: "spec" });
  // OOMPA_E2E_SUITE names the suite the driver runs in this workbench (one workspace each)
  mocha.addFile(path.join(__dirname, `${process.env.OOMPA_E2E_SUITE ?? "extension"}.test.js`));
  await new Promise<void>((resolve, reject) => {
    mocha.run((failures) => (failures > 0 ? reject(new Error(`${failures} extension test(s) failed`)) : resolve()));
  });
}
