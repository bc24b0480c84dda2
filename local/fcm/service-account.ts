import { generateKeyPairSync } from "node:crypto";
import { mkdir, readFile, writeFile } from "node:fs/promises";
import { dirname } from "node:path";

/** A Firebase service account as the stand-in and the Worker see it: one RSA key pair. */
export interface LocalServiceAccount {
  projectId: string;
  clientEmail: string;
  privateKeyPem: string;
  publicKeyPem: string;
}

export function createServiceAccount(projectId = "somsom-local"): LocalServiceAccount {
  const { privateKey, publicKey } = generateKeyPairSync("rsa", {
    modulusLength: 2048,
    privateKeyEncoding: { type: "pkcs8", format: "pem" },
    publicKeyEncoding: { type: "spki", format: "pem" },
  });
  return {
    projectId,
    clientEmail: `firebase-adminsdk@${projectId}.iam.gserviceaccount.com`,
    privateKeyPem: privateKey,
    publicKeyPem: publicKey,
  };
}

/** `npm run dev` keeps its key under the data dir, so .dev.vars and the stand-in agree across restarts. */
export async function loadOrCreateServiceAccount(file: string | undefined): Promise<LocalServiceAccount> {
  if (file) {
    try {
      return JSON.parse(await readFile(file, "utf8")) as LocalServiceAccount;
    } catch {
      // Missing or unreadable: make a new one below.
    }
  }
  const account = createServiceAccount();
  if (file) {
    await mkdir(dirname(file), { recursive: true });
    await writeFile(file, JSON.stringify(account), { mode: 0o600 });
  }
  return account;
}

/** The key file format Google hands out (the fields the Worker reads), as one line of JSON. */
export function serviceAccountJson(account: LocalServiceAccount, tokenUri: string): string {
  return JSON.stringify({
    type: "service_account",
    project_id: account.projectId,
    private_key_id: "local",
    private_key: account.privateKeyPem,
    client_email: account.clientEmail,
    token_uri: tokenUri,
  });
}
