#!/bin/bash
# SCENARIO.md Part A, "one server, its disk, its image", with the aws CLI as the documents do it
# (../../../shared/seeds/000, 001 and 004): cms01 serving a page, an image made from it (with its
# reboot), cms02 from that image in another zone, a data volume carried by a snapshot into the
# other zone, a backup to S3 made from inside the server with `aws s3 sync`, then everything
# deleted.
#
#   KUMO_URL=http://localhost:4566 ./part-a.sh [--timed]
#
# Needs the aws CLI, curl and ssh; prints what it checks and exits non-zero at the first check
# that does not hold (after deleting what it made; KUMO_KEEP_ON_FAILURE=1 keeps it).
set -euo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
# shellcheck source=lib.sh
. "$HERE/lib.sh"

BUCKET="cms-backup-$(date +%s)-$RANDOM"
SG="" KEY="" CMS01="" CMS02="" AMI_CMS="" SNAP_ROOT="" DATA_VOL="" DATA_SNAP="" COPY_VOL="" BUCKET_MADE="" TORN_DOWN=""

teardown() {
  [ -z "$CMS01$CMS02" ] || aws ec2 terminate-instances --instance-ids $CMS01 $CMS02 > /dev/null 2>&1 || true
  [ -z "$AMI_CMS" ] || aws ec2 deregister-image --image-id "$AMI_CMS" > /dev/null 2>&1 || true
  [ -z "$CMS01$CMS02" ] || poll 300 all_terminated $CMS01 $CMS02 || true
  for snap in $SNAP_ROOT $DATA_SNAP; do aws ec2 delete-snapshot --snapshot-id "$snap" > /dev/null 2>&1 || true; done
  for vol in $DATA_VOL $COPY_VOL; do
    poll 120 volume_is "$vol" available || true
    aws ec2 delete-volume --volume-id "$vol" > /dev/null 2>&1 || true
  done
  [ -z "$BUCKET_MADE" ] || aws s3 rb "s3://$BUCKET" --force > /dev/null 2>&1 || true
  [ -z "$SG" ] || aws ec2 delete-security-group --group-id "$SG" > /dev/null 2>&1 || true
  [ -z "$KEY" ] || aws ec2 delete-key-pair --key-name cms-key > /dev/null 2>&1 || true
  TORN_DOWN=1
}

ssh_to() {
  local ip="$1"
  shift
  ssh -i "$WORK/cms-key.pem" -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o LogLevel=ERROR -o ConnectTimeout=5 "ec2-user@$ip" "$@"
}
public_ip() { q ec2 describe-instances --instance-ids "$1" --query 'Reservations[0].Instances[0].PublicIpAddress'; }
serves_page() { [[ "$(curl -s --max-time 5 "http://$1/")" == *"cms01 says hello"* ]]; }
state_of() { q ec2 describe-instances --instance-ids "$1" --query 'Reservations[0].Instances[0].State.Name'; }

step "1. cms01 in ap-northeast-1a, with a security group and a key pair, serving a page from its user data"
SG=$(q ec2 create-security-group --group-name cms-sg --description cms-sg --query GroupId)
for port in 22 80; do aws ec2 authorize-security-group-ingress --group-id "$SG" --protocol tcp --port $port --cidr 0.0.0.0/0 > /dev/null; done
KEY=cms-key
q ec2 create-key-pair --key-name cms-key --query KeyMaterial > "$WORK/cms-key.pem"
chmod 600 "$WORK/cms-key.pem"
cat > "$WORK/user-data.sh" <<'EOF'
#!/bin/bash
yum -y install httpd
echo '<h1>cms01 says hello</h1>' > /var/www/html/index.html
systemctl enable httpd.service
systemctl start httpd.service
EOF
AMI=$(q ec2 describe-images --owners amazon --filters 'Name=name,Values=amzn2-ami-hvm-2.0.*-x86_64-gp2' --query 'sort_by(Images,&CreationDate)[-1].ImageId')
CMS01=$(q ec2 run-instances --image-id "$AMI" --instance-type t2.micro --key-name cms-key --security-group-ids "$SG" \
  --placement AvailabilityZone=ap-northeast-1a --user-data "file://$WORK/user-data.sh" \
  --tag-specifications 'ResourceType=instance,Tags=[{Key=Name,Value=cms01}]' --query 'Instances[0].InstanceId')
await "cms01 is running" 300 instance_is "$CMS01" running
IP1=$(public_ip "$CMS01")
wait_for "cms01 ($IP1) serves its page" 600 serves_page "$IP1"
check "ssh with the key pair works" ssh_to "$IP1" true

step "2. An image of cms01, with its reboot"
# The default reboot: cms01 stops while its root is copied, and runs again.
AMI_CMS=$(q ec2 create-image --instance-id "$CMS01" --name cms-image --query ImageId)
await "the image is available" 600 image_is "$AMI_CMS" available
check "the image $AMI_CMS is available" [ "$(q ec2 describe-images --image-ids "$AMI_CMS" --query 'Images[0].State')" = available ]
SNAP_ROOT=$(q ec2 describe-images --image-ids "$AMI_CMS" --query 'Images[0].BlockDeviceMappings[0].Ebs.SnapshotId')
is_snapshot_id() { [[ "$1" =~ ^snap-[0-9a-f]{17}$ ]]; }
check "its block device mapping names the snapshot $SNAP_ROOT" is_snapshot_id "$SNAP_ROOT"
await "cms01 is running" 300 instance_is "$CMS01" running
wait_for "cms01 serves again after the reboot" 300 serves_page "$(public_ip "$CMS01")"

step "3. cms02 from the image, in ap-northeast-1c"
CMS02=$(q ec2 run-instances --image-id "$AMI_CMS" --instance-type t2.micro --key-name cms-key --security-group-ids "$SG" \
  --placement AvailabilityZone=ap-northeast-1c --tag-specifications 'ResourceType=instance,Tags=[{Key=Name,Value=cms02}]' \
  --query 'Instances[0].InstanceId')
await "cms02 is running" 300 instance_is "$CMS02" running
IP2=$(public_ip "$CMS02")
wait_for "cms02 ($IP2) serves cms01's page (httpd enabled at boot starts again)" 300 serves_page "$IP2"
check "the same key logs into cms02" ssh_to "$IP2" true

step "4. A data volume: written on cms01, carried by a snapshot to a new volume in 1c, read on cms02"
DATA_VOL=$(q ec2 create-volume --availability-zone ap-northeast-1a --size 1 --query VolumeId)
await "the volume is available" 300 volume_is "$DATA_VOL" available
aws ec2 attach-volume --volume-id "$DATA_VOL" --instance-id "$CMS01" --device /dev/xvdf > /dev/null
await "the volume is in-use" 300 volume_is "$DATA_VOL" in-use
IP1=$(public_ip "$CMS01")
wait_for "cms01 sees /dev/xvdf" 60 ssh_to "$IP1" 'test -b /dev/xvdf'
ssh_to "$IP1" 'sudo mkfs -t xfs -q /dev/xvdf && sudo mkdir -p /data && sudo mount /dev/xvdf /data && echo "written on cms01" | sudo tee /data/note.txt > /dev/null && sudo umount /data'
DATA_SNAP=$(q ec2 create-snapshot --volume-id "$DATA_VOL" --description "cms01 data" --query SnapshotId)
await "the snapshot is completed" 600 snapshot_is "$DATA_SNAP" completed
COPY_VOL=$(q ec2 create-volume --availability-zone ap-northeast-1c --snapshot-id "$DATA_SNAP" --query VolumeId)
await "the volume is available" 300 volume_is "$COPY_VOL" available
aws ec2 attach-volume --volume-id "$COPY_VOL" --instance-id "$CMS02" --device /dev/xvdf > /dev/null
await "the volume is in-use" 300 volume_is "$COPY_VOL" in-use
wait_for "cms02 sees /dev/xvdf" 60 ssh_to "$IP2" 'test -b /dev/xvdf'
NOTE=$(ssh_to "$IP2" 'sudo mkdir -p /data && sudo mount /dev/xvdf /data && cat /data/note.txt')
check "cms02 reads the file cms01 wrote (\"$NOTE\")" [ "$NOTE" = "written on cms01" ]

step "5. A backup to S3 from inside cms01 (aws s3 sync, with access keys, no endpoint setting)"
aws s3 mb "s3://$BUCKET" > /dev/null
BUCKET_MADE=1
ssh_to "$IP1" "aws configure set aws_access_key_id $AWS_ACCESS_KEY_ID && aws configure set aws_secret_access_key $AWS_SECRET_ACCESS_KEY && aws configure set region ap-northeast-1 && aws s3 sync /var/www/html s3://$BUCKET/html/ > /dev/null"
check "the bucket holds cms01's site" [ "$(q s3api list-objects-v2 --bucket "$BUCKET" --query 'Contents[].Key')" = "html/index.html" ]
check "and it is private to its owner (an anonymous GET is refused)" [ "$(curl -s -o /dev/null -w '%{http_code}' "$AWS_ENDPOINT_URL/$BUCKET/html/index.html")" = 403 ]

step "6. Clean up: an image's snapshot cannot go first; then everything in order"
if aws ec2 delete-snapshot --snapshot-id "$SNAP_ROOT" > "$WORK/refused.txt" 2>&1; then fail "deleting the snapshot of a registered image is refused"; fi
check "deleting the snapshot of a registered image is refused (InvalidSnapshot.InUse)" grep -q InvalidSnapshot.InUse "$WORK/refused.txt"
teardown
check "no cms instance is left" [ "$(q ec2 describe-instances --filters Name=tag:Name,Values=cms01,cms02 Name=instance-state-name,Values=pending,running,stopping,stopped --query 'length(Reservations)')" = 0 ]
check "no image or snapshot of ours is left" [ "$(q ec2 describe-images --owners self --query 'length(Images)')" = 0 ]
check "the snapshots are gone" [ "$(q ec2 describe-snapshots --owner-ids self --query 'length(Snapshots)')" = 0 ]
finish
echo
echo "Part A ran end to end."
