#!/bin/bash
# SCENARIO.md Part B, "the scalable website", step by step with the aws CLI as the documents do
# it (../../../shared/seeds/002 and 003): a VPC, WordPress on two web servers behind an
# application load balancer, its data in RDS MySQL made Multi-AZ; a web server stopped and a
# database failover while the site keeps answering; then everything deleted.
#
#   KUMO_URL=http://localhost:4566 ./part-b.sh [--timed]
#
# KUMO_KEEP_ON_FAILURE=1 leaves everything in place when a check fails, to look at.
# Needs the aws CLI, curl, ssh and nothing else; prints what it checks at each step and exits
# non-zero at the first check that does not hold (after deleting what it made).
set -euo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
# shellcheck source=lib.sh
. "$HERE/lib.sh"

PASSWORD='Kumo-Secret123'
WP_USER=admin
WP_PASSWORD='Kumo-WordPress-123'

VPC="" IGW="" RT="" PUB_A="" PUB_C="" PRIV_A="" PRIV_C="" WEB_SG="" DB_SG="" ELB_SG="" EC2_1="" EC2_2=""
TG="" LB="" LISTENER="" AMI_WP="" SNAP_WP="" DB_UP="" SUBNET_GROUP="" KEY=""
TORN_DOWN=""

# ---------------------------------------------------------------------------------------------
# Everything this script made, deleted in the order AWS allows (best effort after a failure).
teardown() {
  local strict="${1:-}"
  if [ -n "$DB_UP" ]; then
    aws rds delete-db-instance --db-instance-identifier test-rds-1 --skip-final-snapshot > /dev/null 2>&1 || true
  fi
  [ -z "$EC2_1$EC2_2" ] || aws ec2 terminate-instances --instance-ids $EC2_1 $EC2_2 > /dev/null 2>&1 || true
  [ -z "$LISTENER" ] || aws elbv2 delete-listener --listener-arn "$LISTENER" > /dev/null 2>&1 || true
  [ -z "$LB" ] || aws elbv2 delete-load-balancer --load-balancer-arn "$LB" > /dev/null 2>&1 || true
  [ -z "$LB" ] || poll 120 lb_gone || true
  [ -z "$TG" ] || aws elbv2 delete-target-group --target-group-arn "$TG" > /dev/null 2>&1 || true
  [ -z "$AMI_WP" ] || aws ec2 deregister-image --image-id "$AMI_WP" > /dev/null 2>&1 || true
  [ -z "$SNAP_WP" ] || aws ec2 delete-snapshot --snapshot-id "$SNAP_WP" > /dev/null 2>&1 || true
  [ -z "$EC2_1$EC2_2" ] || poll 300 all_terminated $EC2_1 $EC2_2 || true
  if [ -n "$DB_UP" ]; then
    poll 300 db_gone || true
  fi
  [ -z "$SUBNET_GROUP" ] || aws rds delete-db-subnet-group --db-subnet-group-name db-subnetgroup > /dev/null 2>&1 || true
  for sg in $DB_SG $ELB_SG $WEB_SG; do aws ec2 delete-security-group --group-id "$sg" > /dev/null 2>&1 || true; done
  if [ -n "$RT" ]; then
    for assoc in $(q ec2 describe-route-tables --route-table-ids "$RT" --query 'RouteTables[0].Associations[].RouteTableAssociationId' 2> /dev/null); do
      aws ec2 disassociate-route-table --association-id "$assoc" > /dev/null 2>&1 || true
    done
    aws ec2 delete-route-table --route-table-id "$RT" > /dev/null 2>&1 || true
  fi
  if [ -n "$IGW" ]; then
    aws ec2 detach-internet-gateway --internet-gateway-id "$IGW" --vpc-id "$VPC" > /dev/null 2>&1 || true
    aws ec2 delete-internet-gateway --internet-gateway-id "$IGW" > /dev/null 2>&1 || true
  fi
  for s in $PUB_A $PUB_C $PRIV_A $PRIV_C; do aws ec2 delete-subnet --subnet-id "$s" > /dev/null 2>&1 || true; done
  [ -z "$KEY" ] || aws ec2 delete-key-pair --key-name test-key > /dev/null 2>&1 || true
  if [ -n "$VPC" ]; then
    if [ -n "$strict" ]; then
      aws ec2 delete-vpc --vpc-id "$VPC" > /dev/null
    else
      aws ec2 delete-vpc --vpc-id "$VPC" > /dev/null 2>&1 || true
    fi
  fi
  TORN_DOWN=1
}

# ---------------------------------------------------------------------------------------------
# Reaching the site as a browser would: the load balancer's DNS name, at one of its addresses
# (its network interfaces' public IPs, which is also how one finds them on AWS).
site() { curl -sS --max-time 10 --resolve "$LB_DNS:80:$LB_IP" "$@"; }
code() { curl -sL -o /dev/null -w '%{http_code}' --max-time 10 --resolve "$LB_DNS:80:$LB_IP" "http://$LB_DNS$1"; }
in_service() { [ "$(code "${1:-/}")" = 200 ]; }
ssh_to() {
  local ip="$1"
  shift
  ssh -i "$WORK/test-key.pem" -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o LogLevel=ERROR -o ConnectTimeout=5 "ec2-user@$ip" "$@"
}
health() { q elbv2 describe-target-health --target-group-arn "$TG" --targets "Id=$1" --query 'TargetHealthDescriptions[0].TargetHealth.State'; }
healthy() { [ "$(health "$1")" = healthy ]; }
not_in_service() { [ "$(health "$1")" != healthy ]; }
db_field() { q rds describe-db-instances --db-instance-identifier test-rds-1 --query "DBInstances[0].$1"; }
db_available() { [ "$(db_field DBInstanceStatus)" = available ]; }
db_gone() { ! aws rds describe-db-instances --db-instance-identifier test-rds-1 > /dev/null 2>&1; }
lb_active() { [ "$(q elbv2 describe-load-balancers --load-balancer-arns "$LB" --query 'LoadBalancers[0].State.Code')" = active ]; }
lb_gone() { ! aws elbv2 describe-load-balancers --load-balancer-arns "$LB" > /dev/null 2>&1; }
db_multi_az() { db_available && [ "$(db_field MultiAZ)" = True ] && [ -n "$(db_field SecondaryAvailabilityZone)" ]; }

# Polls the site every 0.2 s into $1 (one HTTP status per line) until $1.stop exists.
watch_site() {
  : > "$1"
  while [ ! -e "$1.stop" ]; do
    curl -s -o /dev/null -w '%{http_code}\n' --max-time 5 --resolve "$LB_DNS:80:$LB_IP" "http://$LB_DNS/" >> "$1" || true
    sleep 0.2
  done
}
failed_requests() { grep -cv '^200$' "$1" || true; }
# What the watcher saw, e.g. "61×200 3×502".
answers() { sort "$1" | uniq -c | awk '{ printf "%s%s×%s", sep, $1, $2; sep = " " }'; }

# The post, read through the load balancer.
post_shown() {
  site -L -o "$WORK/page.html" "http://$LB_DNS/?p=$POST" || true
  grep -q "Written before the storm" "$WORK/page.html" && return 0
  echo "   (the page said: $(sed -e 's/<[^>]*>//g' "$WORK/page.html" | tr -s ' \n' ' ' | cut -c1-300))" >&2
  return 1
}

# ---------------------------------------------------------------------------------------------
step "1. Test-VPC across ap-northeast-1a and 1c, with public and private subnets, an internet gateway and a public route table"
aws sts get-caller-identity > /dev/null || fail "kumo answers at $AWS_ENDPOINT_URL"
VPC=$(q ec2 create-vpc --cidr-block 10.0.0.0/16 --tag-specifications 'ResourceType=vpc,Tags=[{Key=Name,Value=Test-VPC}]' --query Vpc.VpcId)
aws ec2 modify-vpc-attribute --vpc-id "$VPC" --enable-dns-support '{"Value":true}'
aws ec2 modify-vpc-attribute --vpc-id "$VPC" --enable-dns-hostnames '{"Value":false}'
subnet() { q ec2 create-subnet --vpc-id "$VPC" --cidr-block "$1" --availability-zone "$2" --tag-specifications "ResourceType=subnet,Tags=[{Key=Name,Value=$3}]" --query Subnet.SubnetId; }
PUB_A=$(subnet 10.0.0.0/24 ap-northeast-1a public-subnet-a)
PUB_C=$(subnet 10.0.1.0/24 ap-northeast-1c public-subnet-c)
PRIV_A=$(subnet 10.0.2.0/24 ap-northeast-1a private-subnet-a)
PRIV_C=$(subnet 10.0.3.0/24 ap-northeast-1c private-subnet-c)
IGW=$(q ec2 create-internet-gateway --tag-specifications 'ResourceType=internet-gateway,Tags=[{Key=Name,Value=Test-IGW}]' --query InternetGateway.InternetGatewayId)
aws ec2 attach-internet-gateway --internet-gateway-id "$IGW" --vpc-id "$VPC"
RT=$(q ec2 create-route-table --vpc-id "$VPC" --tag-specifications 'ResourceType=route-table,Tags=[{Key=Name,Value=public-route}]' --query RouteTable.RouteTableId)
aws ec2 create-route --route-table-id "$RT" --destination-cidr-block 0.0.0.0/0 --gateway-id "$IGW" > /dev/null
for s in "$PUB_A" "$PUB_C"; do aws ec2 associate-route-table --route-table-id "$RT" --subnet-id "$s" > /dev/null; done
check "Test-VPC is $VPC (found by its Name tag)" [ "$(q ec2 describe-vpcs --filters Name=tag:Name,Values=Test-VPC --query 'Vpcs[0].VpcId')" = "$VPC" ]
check "four subnets in two zones" [ "$(q ec2 describe-subnets --filters Name=vpc-id,Values="$VPC" --query 'length(Subnets)')" = 4 ]
check "the public route table sends 0.0.0.0/0 to $IGW" [ "$(q ec2 describe-route-tables --route-table-ids "$RT" --query "RouteTables[0].Routes[?DestinationCidrBlock=='0.0.0.0/0'].GatewayId | [0]")" = "$IGW" ]

step "2. web-sg (22 and 80 from anywhere) and Test-EC2#1 in public-subnet-a, with the documents' user data"
WEB_SG=$(q ec2 create-security-group --group-name web-sg --description web-sg --vpc-id "$VPC" --query GroupId)
for port in 22 80; do aws ec2 authorize-security-group-ingress --group-id "$WEB_SG" --protocol tcp --port $port --cidr 0.0.0.0/0 > /dev/null; done
KEY=test-key
q ec2 create-key-pair --key-name test-key --query KeyMaterial > "$WORK/test-key.pem"
chmod 600 "$WORK/test-key.pem"
AMI=$(q ec2 describe-images --owners amazon --filters 'Name=name,Values=amzn2-ami-hvm-2.0.*-x86_64-gp2' --query 'sort_by(Images,&CreationDate)[-1].ImageId')
ok "Amazon Linux 2 AMI: $AMI"
EC2_1=$(q ec2 run-instances --image-id "$AMI" --instance-type t2.micro --key-name test-key --security-group-ids "$WEB_SG" \
  --subnet-id "$PUB_A" --associate-public-ip-address --user-data "file://$HERE/user-data.sh" \
  --tag-specifications 'ResourceType=instance,Tags=[{Key=Name,Value=Test-EC2#1}]' --query 'Instances[0].InstanceId')
ok "Test-EC2#1 is $EC2_1"

step "3. db-sg (3306 from web-sg), db-subnetgroup over the private subnets, RDS MySQL test-rds-1"
DB_SG=$(q ec2 create-security-group --group-name db-sg --description db-sg --vpc-id "$VPC" --query GroupId)
aws ec2 authorize-security-group-ingress --group-id "$DB_SG" --protocol tcp --port 3306 --source-group "$WEB_SG" > /dev/null
if aws rds create-db-subnet-group --db-subnet-group-name one-zone --db-subnet-group-description x --subnet-ids "$PRIV_A" > /dev/null 2>&1; then
  fail "a DB subnet group in one zone is refused"
fi
ok "a DB subnet group in one zone is refused"
aws rds create-db-subnet-group --db-subnet-group-name db-subnetgroup --db-subnet-group-description db-subnetgroup --subnet-ids "$PRIV_A" "$PRIV_C" > /dev/null
SUBNET_GROUP=db-subnetgroup
aws rds create-db-instance --db-instance-identifier test-rds-1 --engine mysql --engine-version 8.0 --db-instance-class db.t3.micro \
  --allocated-storage 20 --master-username admin --master-user-password "$PASSWORD" --db-name wordpress \
  --vpc-security-group-ids "$DB_SG" --db-subnet-group-name db-subnetgroup --availability-zone ap-northeast-1a \
  --no-publicly-accessible --backup-retention-period 0 > /dev/null
DB_UP=1
ok "test-rds-1 is $(db_field DBInstanceStatus)"

step "4. elb-sg, elb-targetgroup with Test-EC2#1, the load balancer Test-ELB and its HTTP:80 listener"
ELB_SG=$(q ec2 create-security-group --group-name elb-sg --description elb-sg --vpc-id "$VPC" --query GroupId)
aws ec2 authorize-security-group-ingress --group-id "$ELB_SG" --protocol tcp --port 80 --cidr 0.0.0.0/0 > /dev/null
TG=$(q elbv2 create-target-group --name elb-targetgroup --protocol HTTP --port 80 --vpc-id "$VPC" --target-type instance \
  --health-check-path / --matcher HttpCode=200-399 --health-check-interval-seconds 5 --health-check-timeout-seconds 4 \
  --healthy-threshold-count 2 --unhealthy-threshold-count 2 --query 'TargetGroups[0].TargetGroupArn')
await "Test-EC2#1 is running" 300 instance_is "$EC2_1" running
aws elbv2 register-targets --target-group-arn "$TG" --targets "Id=$EC2_1" > /dev/null
LB=$(q elbv2 create-load-balancer --name Test-ELB --subnets "$PUB_A" "$PUB_C" --security-groups "$ELB_SG" --query 'LoadBalancers[0].LoadBalancerArn')
LISTENER=$(q elbv2 create-listener --load-balancer-arn "$LB" --protocol HTTP --port 80 --default-actions "Type=forward,TargetGroupArn=$TG" --query 'Listeners[0].ListenerArn')
LB_DNS=$(q elbv2 describe-load-balancers --load-balancer-arns "$LB" --query 'LoadBalancers[0].DNSName')
await "Test-ELB is active" 120 lb_active
LB_IP=$(q ec2 describe-network-interfaces --filters "Name=description,Values=ELB app/Test-ELB/*" --query 'NetworkInterfaces[0].Association.PublicIp')
[ -n "$LB_IP" ] || fail "Test-ELB's network interfaces show its public addresses"
ok "Test-ELB is $LB_DNS (one of its addresses: $LB_IP)"
IP_1=$(q ec2 describe-instances --instance-ids "$EC2_1" --query 'Reservations[0].Instances[0].PublicIpAddress')
wait_for "Test-EC2#1's user data ran (WordPress in /var/www/html, httpd running)" 900 ssh_to "$IP_1" 'sudo test -f /var/lib/cloud/user-data.done && systemctl is-active --quiet httpd && test -f /var/www/html/wp-config-sample.php'
wait_for "Test-EC2#1 is healthy in elb-targetgroup" 300 healthy "$EC2_1"
await "test-rds-1 is available" 900 db_available
DB_HOST=$(db_field Endpoint.Address)
ok "test-rds-1 is available at $DB_HOST:3306"
shows_setup() { [[ "$(site -L "http://$LB_DNS/")" == *wp-config* ]]; }
check "browsing $LB_DNS shows WordPress's setup" shows_setup

step "5. WordPress's web installer, through the load balancer; a first post"
site -o /dev/null --data-urlencode dbname=wordpress --data-urlencode uname=admin --data-urlencode "pwd=$PASSWORD" \
  --data-urlencode "dbhost=$DB_HOST" --data-urlencode prefix=wp_ --data-urlencode language= --data-urlencode submit=Submit \
  "http://$LB_DNS/wp-admin/setup-config.php?step=2"
check "wp-config.php was written on Test-EC2#1, pointing at test-rds-1 by its endpoint name" ssh_to "$IP_1" "grep -q \"'DB_HOST', '$DB_HOST'\" /var/www/html/wp-config.php"
site -o /dev/null --data-urlencode 'weblog_title=kumo hands-on' --data-urlencode "user_name=$WP_USER" --data-urlencode "admin_password=$WP_PASSWORD" \
  --data-urlencode "admin_password2=$WP_PASSWORD" --data-urlencode pw_weak=on --data-urlencode admin_email=admin@example.com \
  --data-urlencode blog_public=0 --data-urlencode Submit=Install --data-urlencode language= "http://$LB_DNS/wp-admin/install.php?step=2"
wait_for "the site is installed (its front page answers 200)" 60 in_service /
cat > "$WORK/post.xml" <<EOF
<?xml version="1.0"?>
<methodCall><methodName>wp.newPost</methodName><params>
<param><value><int>1</int></value></param>
<param><value><string>$WP_USER</string></value></param>
<param><value><string>$WP_PASSWORD</string></value></param>
<param><value><struct>
<member><name>post_title</name><value><string>Written before the storm</string></value></member>
<member><name>post_content</name><value><string>This post must survive a stopped server and a database failover.</string></value></member>
<member><name>post_status</name><value><string>publish</string></value></member>
</struct></value></param>
</params></methodCall>
EOF
POST=$(site -H 'Content-Type: text/xml' --data-binary "@$WORK/post.xml" "http://$LB_DNS/xmlrpc.php" | sed -n 's:.*<string>\([0-9][0-9]*\)</string>.*:\1:p' | head -1)
[ -n "$POST" ] || fail "the post was written through XML-RPC"
ok "post $POST written"
check "post $POST is on the site" post_shown
check "its row is in test-rds-1 (mysql on Test-EC2#1, by the endpoint name)" \
  ssh_to "$IP_1" "mysql -h $DB_HOST -u admin -p'$PASSWORD' -N -B wordpress -e 'SELECT post_title FROM wp_posts WHERE ID=$POST' | grep -q 'Written before the storm'"

step "6. The image Test-AMI-WordPress from Test-EC2#1 (with reboot)"
AMI_WP=$(q ec2 create-image --instance-id "$EC2_1" --name Test-AMI-WordPress --query ImageId)
await "Test-AMI-WordPress is available" 600 image_is "$AMI_WP" available
SNAP_WP=$(q ec2 describe-images --image-ids "$AMI_WP" --query 'Images[0].BlockDeviceMappings[0].Ebs.SnapshotId')
ok "Test-AMI-WordPress is $AMI_WP, its snapshot $SNAP_WP"
await "Test-EC2#1 is running" 300 instance_is "$EC2_1" running
wait_for "Test-EC2#1 is back in service after the image's reboot" 300 healthy "$EC2_1"

step "7. Test-EC2#2 from Test-AMI-WordPress in public-subnet-c, no user data; both registered"
EC2_2=$(q ec2 run-instances --image-id "$AMI_WP" --instance-type t2.micro --key-name test-key --security-group-ids "$WEB_SG" \
  --subnet-id "$PUB_C" --associate-public-ip-address --tag-specifications 'ResourceType=instance,Tags=[{Key=Name,Value=Test-EC2#2}]' \
  --query 'Instances[0].InstanceId')
await "Test-EC2#2 is running" 300 instance_is "$EC2_2" running
ROOT_SNAP=$(q ec2 describe-volumes --filters "Name=attachment.instance-id,Values=$EC2_2" --query 'Volumes[0].SnapshotId')
check "Test-EC2#2's root volume comes from the image's snapshot ($ROOT_SNAP)" [ "$ROOT_SNAP" = "$SNAP_WP" ]
aws elbv2 register-targets --target-group-arn "$TG" --targets "Id=$EC2_2" > /dev/null
wait_for "Test-EC2#2 is healthy" 300 healthy "$EC2_2"
IP_2=$(q ec2 describe-instances --instance-ids "$EC2_2" --query 'Reservations[0].Instances[0].PublicIpAddress')
TAG="probe-$RANDOM$RANDOM"
for i in $(seq 1 20); do site -o /dev/null "http://$LB_DNS/?p=$POST&$TAG=$i"; done
served() { ssh_to "$1" "sudo grep -c '$TAG' /var/log/apache2/access.log" || echo 0; }
N1=$(served "$IP_1")
N2=$(served "$IP_2")
shared() { [ "$N1" -gt 0 ] && [ "$N2" -gt 0 ] && [ $((N1 + N2)) -eq 20 ]; }
check "both share the traffic (of 20 requests: Test-EC2#1 $N1, Test-EC2#2 $N2)" shared

step "8. test-rds-1 made Multi-AZ, applied immediately"
MODIFYING=$(q rds modify-db-instance --db-instance-identifier test-rds-1 --multi-az --apply-immediately --query DBInstance.DBInstanceStatus)
check "test-rds-1 is modifying" [ "$MODIFYING" = modifying ]
wait_for "test-rds-1 is available and Multi-AZ" 600 db_multi_az
PRIMARY_ZONE=$(db_field AvailabilityZone)
STANDBY_ZONE=$(db_field SecondaryAvailabilityZone)
ok "primary in $PRIMARY_ZONE, standby in $STANDBY_ZONE"

step "9. Test-EC2#1 stopped while the site is browsed, then started again"
watch_site "$WORK/stop.log" &
WATCH=$!
aws ec2 stop-instances --instance-ids "$EC2_1" > /dev/null
await "Test-EC2#1 is stopped" 300 instance_is "$EC2_1" stopped
wait_for "Test-EC2#1 is out of service" 120 not_in_service "$EC2_1"
touch "$WORK/stop.log.stop"
wait $WATCH
ok "while Test-EC2#1 stopped, the site answered: $(answers "$WORK/stop.log")"
check "requests failed only within the health checks' window (2 checks 5 s apart)" [ "$(failed_requests "$WORK/stop.log")" -le 60 ]
for i in $(seq 1 10); do in_service "/?p=$POST" || fail "every request answers once Test-EC2#1 is out of service"; done
ok "every request answers once Test-EC2#1 is out of service"
aws ec2 start-instances --instance-ids "$EC2_1" > /dev/null
await "Test-EC2#1 is running" 300 instance_is "$EC2_1" running
wait_for "Test-EC2#1 rejoins (healthy)" 300 healthy "$EC2_1"

step "10. test-rds-1 rebooted with failover while the site is browsed"
rm -f "$WORK/failover.log.stop"
watch_site "$WORK/failover.log" &
WATCH=$!
REBOOTING=$(q rds reboot-db-instance --db-instance-identifier test-rds-1 --force-failover --query DBInstance.DBInstanceStatus)
check "test-rds-1 is rebooting" [ "$REBOOTING" = rebooting ]
wait_for "test-rds-1 is available again" 300 db_available
wait_for "the site answers again" 120 in_service "/?p=$POST"
touch "$WORK/failover.log.stop"
wait $WATCH
ok "during the failover the site answered: $(answers "$WORK/failover.log")"
swapped() { [ "$(db_field AvailabilityZone)" = "$STANDBY_ZONE" ] && [ "$(db_field SecondaryAvailabilityZone)" = "$PRIMARY_ZONE" ]; }
check "the zones swapped (primary now in $(db_field AvailabilityZone), standby in $(db_field SecondaryAvailabilityZone))" swapped
check "post $POST is still there" post_shown
IP_1=$(q ec2 describe-instances --instance-ids "$EC2_1" --query 'Reservations[0].Instances[0].PublicIpAddress')
check "and its row, read by the endpoint name from Test-EC2#2" \
  ssh_to "$IP_2" "mysql -h $DB_HOST -u admin -p'$PASSWORD' -N -B wordpress -e 'SELECT post_title FROM wp_posts WHERE ID=$POST' | grep -q 'Written before the storm'"
EVENTS=$(q rds describe-events --source-type db-instance --source-identifier test-rds-1 --query 'Events[].Message')
check "describe-events records the failover" grep -q 'failover completed' <<< "$EVENTS"

step "11. Everything deleted"
if aws ec2 delete-vpc --vpc-id "$VPC" > /dev/null 2>&1; then fail "deleting Test-VPC is refused while it has dependents"; fi
ok "deleting Test-VPC is refused while it has dependents"
teardown strict
check "Test-VPC is gone" [ "$(q ec2 describe-vpcs --filters Name=tag:Name,Values=Test-VPC --query 'length(Vpcs)')" = 0 ]
nothing_left() {
  [ "$(q ec2 describe-instances --filters Name=instance-state-name,Values=pending,running,stopping,stopped --query 'length(Reservations)')" = 0 ] &&
    [ "$(q ec2 describe-images --owners self --query 'length(Images)')" = 0 ] &&
    [ "$(q elbv2 describe-load-balancers --query 'length(LoadBalancers)')" = 0 ] &&
    [ "$(q rds describe-db-instances --query 'length(DBInstances)')" = 0 ]
}
check "no instance, image, load balancer or database is left" nothing_left
finish
echo
echo "Part B ran end to end."
