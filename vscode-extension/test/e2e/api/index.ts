/**
 * Entry point the workbench calls inside the extension host (`extensionTestsPath`): runs the
 * API-level tests with mocha and rejects when any fails, which makes the workbench report a
 * non-zero exit code to the driver.
 */

import * as path from "node:path";
import Mocha from "mocha";

export async function run(): Promise<void> {
  const mocha = new Mocha({ ui: "bdd", timeout: 90_000, color: false, reporter: "spec" });
  mocha.addFile(path.join(__dirname, "extension.test.js"));
  await new Promise<void>((resolve, reject) => {
    mocha.run((failures) => (failures > 0 ? reject(new Error(`${failures} extension test(s) failed`)) : resolve()));
  });
}
