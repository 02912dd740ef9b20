package verifiers

// Fixtures of the SNS signer test, made independently of the code under
// test with the OpenSSL 3.0 CLI (the key is a throwaway test key, used
// nowhere else):
//
//	openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out sns.key
//	printf 'Message\n{"hello":"world"}\nMessageId\n22b80b92-fdea-4c2c-8f9d-bdfb0c7bf324\nTimestamp\n2012-05-02T00:54:06.655Z\nTopicArn\narn:aws:sns:us-west-2:123456789012:MyTopic\nType\nNotification\n' > sts
//	openssl dgst -sha1 -sign sns.key sts | base64 -w0     # signSNSSigV1
//	openssl dgst -sha256 -sign sns.key sts | base64 -w0   # signSNSSigV2
const (
	signSNSKey = `-----BEGIN PRIVATE KEY-----
MIIEvAIBADANBgkqhkiG9w0BAQEFAASCBKYwggSiAgEAAoIBAQCsllh+BqZ/dBWO
xdHYKJOw484jCj2hVerrCvWMPl9o4X041yltYRega2YpI4g9mNn/QipqaZcXDpDQ
QEvEnnmqMqr8TnYli3qUWEl3txwOBciAdaK2IWHjBQaoWETQXZQLWNeSNqVCKgk/
/WGHSIOChw8PEwkWtj7J9t3WA9QY4A//KSokKa2kaPTDaXA0tKKRBRmaK51r9DL9
UVb67m+Qc6GSwlWasg0H7EIA0KugucjTMiclqo02FT3Of4h+FxyfBhCG6GomZuQt
F0ApUDHhGtLWJZJ8ny4xriQK4hfreXOH/P1HdERib6DGjjAgiiRYPTf9rap/HKRB
UQj88q95AgMBAAECggEAFZynHLL6/wtblrsdZb7hDb3dJqSl5pHifsfqy0LVQkY4
XtmMucJ2ibNhQeYN7b66D72qn5Q05CGCD135zveUXzSEll9B6r4uXay3mHrw0620
N6fjdgC0qA/NT1/sUBZjz07zAb9/jstCSMXTRHRXaY09nMLiuLoeHz7fdSkaEnop
s1IpO/2pvPM/PZ7nsFjI6kjBF/jXPAxrIz6SuurC6oHliNxUk10B6zrjh2NWGBv1
9/czhGbbR0sJFiMeAxAbRqSnHf87SQAVsyK+YHD2+ialUaoCuI35mK/GxGP/eK2u
oBvX+pe65W0e9j3YRDrMyrGaoljbexkBIq/ab+fA3QKBgQDet8PNxul4JKqcXso0
/NblCIYoZd0dbj6MUGaN4aSmbhV4pSeznnOMzSGcfdVTD9baKzUhVyJfKJ/wOtdX
/E+T1IRxn9dYnGWkun46XY7meGbFEKvyFwaq15oWD2MdBwOUYtW7fkoJ+WNlQZ5X
sTz8qjKEWa/BwOkKv5+a91SavQKBgQDGYMzCQxEZYcxEct9/Ho2eXk8IQ93aQvx+
iB4PqtbDfNH3NnYhUgBOo7/Ob+c3/Fb2jPAh4sPdGZM0wbdUVdLY3Zlj3RThhkgB
O4Ld6Kk9Jlmnrg3JBljZfRTv8gE79Q7+Ioq1PnR+RITux2jAo6x7kWy51Yck3NmX
IUH4Z8NRbQKBgGVsgEG0pNuurvd4/1K0FdTFVfsNsG1XqCpT7vAL4uRb23FOnM7i
iLKFNBpE/6HM48YEyTQ+rwtwv60xzqFl6INk00+/P909k9g5iYRg2NPB3uM9XWBo
9gNVHfmP1k4AxLONctHoiCUUqhwRjt9WenSBuXGmOjDc/gOEElYK7j9tAoGACWO/
jVpbTtZAMuU1CvFJRru0BfIgaBpPlTWgJqGxdKNN1OOxB7a36QD7LSxCx3WcMCNP
omr3VlnFi/O3V7iQOE+U2RM3z8zpT5Wfhh1jFU/hYnxsjp1MS08OVKUhxdK9mO3N
nvKL1QYtPJgXrzaQDXE+sjUXJnmFmw+p7bYLmqkCgYBlaNT9ZEYGkTtpufq7qXdQ
PY0zslU7dqdQYv9ma8CsmhefKdbk1kEFIA7i8jmtEPhLXMKy7Fi7qqrSG6xXwAGK
HNv4FHq2pWCFp+Gqh5SsSkZWAa41LiWeaPPbiXFlr0FGX9P4aMZFU1AT/LqT84LP
BIGJNMqFwFl5pLCMABqO7w==
-----END PRIVATE KEY-----
`
	signSNSSigV1 = "CW1hq7vJoxC8mFmutM6lhuwiN9Nt3dlnmk8sODOt+oUG6D/b9lrJXHUhREWu7/rXL1o6edph8PocZTG0jGNvvVjHDGDggYnrDq/KZG1/WlkXRYOtFgv+Phb5atOTfiE3UXmHOnxpVRb1lLnG2VN8jAqQAXEnEZE5Rcz+Zp1XmIlWl6MxqogAdSrDx0jBnZphf2RYEWYGaG+q15eq9eejrTRo/ohqrhbo1IPKXPk4RciE997D0A1eNbTQ0ke2otkHPSRXt+9tRFQTwv+SvkUsyukEFpujxdI9Za2ZBvPAXoFV0U+fKaGKiu0swrPTWCU+VYx6jauoKb2Agg9VjMNZQQ=="
	signSNSSigV2 = "JjfFUwNAKhZcFhrlfaN0P3Hjstvo18oWJ8NFa7XMa1TKRRieYCg/e4RGSlEab5ia8F55WHLD5O1e96B8rkf5cVxz4rT5Y8XWU5MsAOYV849PK+MTjaLjzBmxnBEdHkARTCYhMMwb5RZt8paMXqzdjvuroQ8aML81D73jGLu49P2kBLVDdT/nOQYO6g4Cmm9dWR7qslydqeg8cDH7ru8l149ZTSxyvuVjwI2GXkSHitMaaPiQhnRwcN25GmHWL6qEEG9CkHBuUaVouxPrRbr775q4MQaIMXl1rVUA4IdcTT9vCi8gmTBqW680xKQYY12KjHLWJv68dJ5duuMz0AKcjA=="
)
