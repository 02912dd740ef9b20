#!/bin/sh
# Regenerates the SNS test fixtures in this directory, independently of the
# Go code under test: certificates with the openssl CLI, messages (string to
# sign and JSON body) with node, signatures with `openssl dgst -sign`.
# Private keys live in a temporary directory and are thrown away.
#
#   sh verifiers/testdata/sns/gen.sh
#
# Output: ca.pem (test root), inter.pem (intermediate), sns.pem (leaf for
# sns.amazonaws.com issued by the root), bundled.pem (leaf issued by the
# intermediate, followed by the intermediate), aia.pem and aiaevil.pem
# (leaves issued by the intermediate, alone, naming it by an issuer URL on
# amazontrust.com and elsewhere), wrongname.pem, nosig.pem (no
# digitalSignature key usage), expired.pem (valid one day from generation),
# selfsigned.pem (not issued by the root), and *.json signed messages.
# Tests verify them at 2030-01-01.
set -eu
exec 3>&2 2>/dev/null # openssl writes progress to stderr; errors still stop the script
cd "$(dirname "$0")"
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT

days=36500
openssl req -x509 -newkey rsa:2048 -nodes -keyout "$T/ca.key" -out ca.pem -days $days \
	-subj "/CN=Test SNS Root CA" \
	-addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign"

openssl req -newkey rsa:2048 -nodes -keyout "$T/inter.key" -out "$T/inter.csr" -subj "/CN=Test SNS Intermediate CA"
printf 'basicConstraints=critical,CA:TRUE,pathlen:0\nkeyUsage=critical,keyCertSign,cRLSign\n' >"$T/inter.ext"
openssl x509 -req -in "$T/inter.csr" -CA ca.pem -CAkey "$T/ca.key" -CAcreateserial -CAserial "$T/ca.srl" \
	-days $days -extfile "$T/inter.ext" -out "$T/inter.pem"

# leaf NAME DNS KEYUSAGE DAYS ISSUER [EXTRA-EXTENSION]
leaf() {
	openssl req -newkey rsa:2048 -nodes -keyout "$T/$1.key" -out "$T/$1.csr" -subj "/CN=$2"
	printf 'basicConstraints=critical,CA:FALSE\nsubjectAltName=DNS:%s\nkeyUsage=critical,%s\nextendedKeyUsage=serverAuth,clientAuth\n%s\n' \
		"$2" "$3" "${6:-}" >"$T/$1.ext"
	openssl x509 -req -in "$T/$1.csr" -CA "$T/$5.pem" -CAkey "$T/$5.key" -CAcreateserial -CAserial "$T/$5.srl" \
		-days "$4" -extfile "$T/$1.ext" -out "$T/$1.pem"
}
cp ca.pem "$T/ca.pem"
leaf sns sns.amazonaws.com digitalSignature,keyEncipherment $days ca
leaf wrongname sns.example.com digitalSignature,keyEncipherment $days ca
leaf nosig sns.amazonaws.com keyEncipherment $days ca
leaf expired sns.amazonaws.com digitalSignature,keyEncipherment 1 ca
leaf bundled sns.amazonaws.com digitalSignature,keyEncipherment $days inter
leaf aia sns.amazonaws.com digitalSignature,keyEncipherment $days inter \
	"authorityInfoAccess=caIssuers;URI:http://crt.test.amazontrust.com/inter.cer"
leaf aiaevil sns.amazonaws.com digitalSignature,keyEncipherment $days inter \
	"authorityInfoAccess=caIssuers;URI:http://crt.evil.example/inter.cer"
openssl req -x509 -newkey rsa:2048 -nodes -keyout "$T/selfsigned.key" -out "$T/selfsigned.pem" -days $days \
	-subj "/CN=sns.amazonaws.com" -addext "subjectAltName=DNS:sns.amazonaws.com" \
	-addext "keyUsage=critical,digitalSignature,keyEncipherment"
for n in sns wrongname nosig expired selfsigned aia aiaevil inter; do cp "$T/$n.pem" "$n.pem"; done
cat "$T/bundled.pem" "$T/inter.pem" >bundled.pem

KEYS="$T" node - <<'JS'
// String to sign per https://docs.aws.amazon.com/sns/latest/dg/sns-verify-signature-of-message.html:
// "Key\nValue\n" for each field of the type's list, in this order, when present.
const fs = require('fs'), cp = require('child_process');
const T = process.env.KEYS;
const notif = ['Message', 'MessageId', 'Subject', 'Timestamp', 'TopicArn', 'Type'];
const confirm = ['Message', 'MessageId', 'SubscribeURL', 'Timestamp', 'Token', 'TopicArn', 'Type'];
const topic = 'arn:aws:sns:us-east-1:123456789012:MyTopic';
const host = 'https://sns.us-east-1.amazonaws.com';
const token = '2336412f37fb687f5d51e6e241d09c805a5a57b30d712f794cc5f6a988666d92768dd60a747ba6f3beb71854e285d6ad02428b09ceece29417f1f02d609c582afbacc99c583a916b9981dd2728f4ae6fdb82efd087cc3b7849e05798d2d2785c03b0879594eeac82c01f235d0e717736';
const sesEvent = JSON.stringify({eventType: 'Delivery', mail: {timestamp: '2029-12-31T23:59:58.000Z', source: 'sender@example.com', messageId: '010001234567890a-1234abcd-0000-0000-0000-000000000000-000000', destination: ['recipient@example.com']}, delivery: {timestamp: '2029-12-31T23:59:59.000Z', recipients: ['recipient@example.com'], smtpResponse: '250 2.6.0 Message received'}});
function sign(m, keys, key, version) {
  let s = '';
  for (const k of keys) if (k in m) s += k + '\n' + m[k] + '\n';
  fs.writeFileSync(T + '/sts', s, 'utf8');
  cp.execFileSync('openssl', ['dgst', version === '1' ? '-sha1' : '-sha256', '-sign', T + '/' + key + '.key', '-out', T + '/sig', T + '/sts']);
  return fs.readFileSync(T + '/sig').toString('base64');
}
// SNS lays its JSON out as "Key" : "Value" pairs, two-space indent.
function body(fields) {
  return '{\n' + Object.entries(fields).map(([k, v]) => '  ' + JSON.stringify(k) + ' : ' + JSON.stringify(v)).join(',\n') + '\n}';
}
function notification(file, key, version, id, extra) {
  const m = Object.assign({Type: 'Notification', MessageId: id, TopicArn: topic}, extra.head || {}, {
    Message: extra.message, Timestamp: '2030-01-01T00:00:00.000Z', SignatureVersion: version});
  m.Signature = sign(m, notif, key, version);
  m.SigningCertURL = host + '/SimpleNotificationService-' + key + '.pem';
  m.UnsubscribeURL = host + '/?Action=Unsubscribe&SubscriptionArn=' + topic + ':c9135db0-26c4-47ec-8998-413945fb5a96';
  Object.assign(m, extra.tail || {});
  fs.writeFileSync(file, body(m));
}
function confirmation(file, type, key, version, id) {
  const action = type === 'SubscriptionConfirmation' ? 'subscribe to' : 'unsubscribe from';
  const m = {Type: type, MessageId: id, Token: token, TopicArn: topic,
    Message: 'You have chosen to ' + action + ' the topic ' + topic + '.\nTo confirm the subscription, visit the SubscribeURL included in this message.',
    SubscribeURL: host + '/?Action=ConfirmSubscription&TopicArn=' + topic + '&Token=' + token,
    Timestamp: '2030-01-01T00:00:00.000Z', SignatureVersion: version};
  m.Signature = sign(m, confirm, key, version);
  m.SigningCertURL = host + '/SimpleNotificationService-' + key + '.pem';
  fs.writeFileSync(file, body(m));
}
notification('notification-v1.json', 'sns', '1', '22b80b92-fdea-4c2c-8f9d-bdfb0c7bf324', {
  head: {Subject: 'Test "subject" \u00e9'},
  message: 'Line one\nLine "two"\twith tab, slash / backslash \\ and \uff21 \uff2d\uff45\uff53\uff53\uff41\uff47\uff45 \u2713',
  tail: {MessageAttributes: {Test: {Type: 'String', Value: 'TestString'}}}});
notification('notification-v2.json', 'sns', '2', 'da41e39f-ea4d-435a-b922-c6aae3915ebe', {message: sesEvent});
confirmation('subscription-v1.json', 'SubscriptionConfirmation', 'sns', '1', '165545c9-2a5c-472c-8df2-7ff2be2b3b1b');
confirmation('subscription-v2.json', 'SubscriptionConfirmation', 'sns', '2', '2b33c4ae-8a7e-4b8e-9a3e-4fb1a4b55f7e');
confirmation('unsubscribe-v2.json', 'UnsubscribeConfirmation', 'sns', '2', '47138184-6831-46b8-8f7c-afc488602d7d');
['bundled', 'wrongname', 'nosig', 'expired', 'selfsigned', 'aia', 'aiaevil'].forEach((key, i) =>
  notification('notification-' + key + '.json', key, '2', '0e2a1b6c-0000-4000-8000-00000000000' + i, {message: 'Hello from ' + key}));
JS
