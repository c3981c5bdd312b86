// Which gobgpd is installed. Sluice speaks to gobgpd over gRPC with the .proto
// files of one GoBGP release (src/bgp/proto/README.md); a daemon of another
// release may have moved fields, so a version Sluice does not know is refused
// at start rather than misread later.
import { execFile } from 'node:child_process';
import { SluiceError } from '../errors';

/** The Debian package that ships gobgpd, named in every "not installed" error. */
export const GOBGPD_PACKAGE = 'gobgpd';
/** The GoBGP release the .proto files in src/bgp/proto come from: any 3.10.x. */
export const KNOWN_MAJOR = 3;
export const KNOWN_MINOR = 10;

export interface GobgpdVersion {
  major: number;
  minor: number;
  patch: number;
  /** The whole version as gobgpd printed it, e.g. `3.10.0` or `3.10.0+commit.abc`. */
  text: string;
}

const VERSION_LINE = /^gobgpd version (\d+)\.(\d+)\.(\d+)(\S*)$/;

/**
 * Parses `gobgpd --version` output ("gobgpd version 3.10.0"). Output that is
 * not one such line, or a release other than 3.10.x, is SLUICE_BGP_UNSUPPORTED.
 */
export function parseGobgpdVersion(output: string): GobgpdVersion {
  const line = output.trim();
  const m = VERSION_LINE.exec(line);
  if (!m) {
    throw new SluiceError('SLUICE_BGP_UNSUPPORTED',
      `gobgpd --version printed ${JSON.stringify(line.slice(0, 200))}, not "gobgpd version X.Y.Z"; ` +
      `Sluice needs gobgpd ${KNOWN_MAJOR}.${KNOWN_MINOR}.x (Debian package ${GOBGPD_PACKAGE})`);
  }
  const version: GobgpdVersion = {
    major: Number(m[1]), minor: Number(m[2]), patch: Number(m[3]), text: `${m[1]}.${m[2]}.${m[3]}${m[4]}`,
  };
  if (version.major !== KNOWN_MAJOR || version.minor !== KNOWN_MINOR) {
    throw new SluiceError('SLUICE_BGP_UNSUPPORTED',
      `gobgpd ${version.text} is not a version Sluice knows: its gRPC API files are GoBGP ` +
      `${KNOWN_MAJOR}.${KNOWN_MINOR}.x's (install Debian 12's ${GOBGPD_PACKAGE} package, 3.10.0)`,
      { found: version.text, known: `${KNOWN_MAJOR}.${KNOWN_MINOR}.x` });
  }
  return version;
}

/**
 * Runs `<binary> --version` and parses it. A binary that is not there is
 * SLUICE_BGP_UNSUPPORTED naming the Debian package.
 */
export function gobgpdVersion(binary = 'gobgpd', timeoutMs = 5000): Promise<GobgpdVersion> {
  return new Promise((resolve, reject) => {
    execFile(binary, ['--version'], { timeout: timeoutMs }, (err, stdout, stderr) => {
      if (err) {
        const code = (err as NodeJS.ErrnoException).code;
        if (code === 'ENOENT' || code === 'EACCES') {
          reject(new SluiceError('SLUICE_BGP_UNSUPPORTED',
            `${binary} cannot be run (${code}): install the Debian package ${GOBGPD_PACKAGE} ` +
            `(apt-get install ${GOBGPD_PACKAGE}, or bash scripts/setup.sh)`, { binary }));
          return;
        }
        reject(new SluiceError('SLUICE_BGP_UNSUPPORTED',
          `${binary} --version failed: ${err.message.trim()} ${String(stderr).trim()}`.trim(), { binary }));
        return;
      }
      try {
        resolve(parseGobgpdVersion(String(stdout)));
      } catch (e) {
        reject(e);
      }
    });
  });
}
