"""Unit tests of the protocol code (no server needed): `python3 -m unittest discover -s api/tests -t api`."""

import base64
import hashlib
import hmac
import unittest

from app import pg, worker


class ScramTest(unittest.TestCase):
    def test_proof_and_server_signature_follow_rfc_5802(self):
        # A server's side of the exchange, computed independently with the same inputs.
        salt, iterations, password = b"0123456789abcdef", 4096, "s3cret"
        client = pg.Scram(password, nonce="clientnonce")
        server_first = f"r=clientnonceSERVER,s={base64.b64encode(salt).decode()},i={iterations}"
        final = client.client_final(server_first)
        salted = hashlib.pbkdf2_hmac("sha256", password.encode(), salt, iterations)
        client_key = hmac.digest(salted, b"Client Key", "sha256")
        auth = f"n=,r=clientnonce,{server_first},c=biws,r=clientnonceSERVER".encode()
        signature = hmac.digest(hashlib.sha256(client_key).digest(), auth, "sha256")
        proof = base64.b64decode(final.split(",p=")[1])
        self.assertEqual(bytes(a ^ b for a, b in zip(proof, signature)), client_key)
        server_sig = hmac.digest(hmac.digest(salted, b"Server Key", "sha256"), auth, "sha256")
        client.verify("v=" + base64.b64encode(server_sig).decode())
        with self.assertRaises(pg.DatabaseError):
            client.verify("v=" + base64.b64encode(b"x" * 32).decode())

    def test_a_nonce_the_server_did_not_extend_is_refused(self):
        with self.assertRaises(pg.DatabaseError):
            pg.Scram("pw", nonce="mine").client_final("r=other,s=c2FsdA==,i=4096")


class WorkerTest(unittest.TestCase):
    def test_process_counts_words(self):
        self.assertTrue(worker.process("ship the platform").startswith("3 words, sha256 "))


if __name__ == "__main__":
    unittest.main()
