/**
 * What the source documents (../shared/seeds, outside this repository) give verbatim, for tests
 * that must run it unchanged.
 */

/** seeds/002's user data for Test-EC2#1 (Amazon Linux 2), byte for byte as the document prints it. */
export const SEED_002_USER_DATA = `#!/bin/bash

yum -y update
yum -y install php httpd mysql
PHP_VERSION=php -v | head -n 1 | awk '{print $2}' | awk -F "." '{print $1}'
while [ \${PHP_VERSION} -ne 7 ]
do
amazon-linux-extras install php7.4 -y
PHP_VERSION=php -v | head -n 1 | awk '{print $2}' | awk -F "." '{print $1}'
done

yum -y install php-mbstring php-xml

wget http://ja.wordpress.org/latest-ja.tar.gz -P /tmp/
tar zxvf /tmp/latest-ja.tar.gz -C /tmp
cp -r /tmp/wordpress/* /var/www/html/
chown apache:apache -R /var/www/html

systemctl enable httpd.service
systemctl start httpd.service
`;

/** The sha256 of those bytes in the document, so a test can tell they were not touched. */
export const SEED_002_SHA256 = '83c0b29f45f72eefbdf1d7cdd343662450c05fd15654ee692c97fe2c38fc29d8';
